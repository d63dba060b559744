   type Bits_36 is mod 2 ** Bits;
   for Bits_36'Size use Bits;

   --  In all subprograms below, Rev_SSO is set True if the array has the
   --  non-default scalar storage order.

   function Get_36
     (Arr     : System.Address;
      N       : Natural;
      Rev_SSO : Boolean) return Bits_36 with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is extracted and returned.

   procedure Set_36
     (Arr     : System.Address;
      N       : Natural;
      E       : Bits_36;
      Rev_SSO : Boolean) with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is set to the given value.

   function GetU_36
     (Arr     : System.Address;
      N       : Natural;
      Rev_SSO : Boolean) return Bits_36 with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is extracted and returned. This version
   --  is used when Arr may represent an unaligned address.

   procedure SetU_36
     (Arr     : System.Address;
      N       : Natural;
      E       : Bits_36;
      Rev_SSO : Boolean) with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is set to the given value. This version
   --  is used when Arr may represent an unaligned address

end System.Pack_36;
