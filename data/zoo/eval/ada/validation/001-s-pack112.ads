-- GNAT was originally developed  by the GNAT team at  New York University. --
-- Extensive contributions were provided by Ada Core Technologies Inc.      --
--                                                                          --
------------------------------------------------------------------------------

--  Handling of packed arrays with Component_Size = 112

package System.Pack_112 is
   pragma Preelaborate;

   Bits : constant := 112;

   type Bits_112 is mod 2 ** Bits;
   for Bits_112'Size use Bits;

   --  In all subprograms below, Rev_SSO is set True if the array has the
   --  non-default scalar storage order.

   function Get_112
     (Arr     : System.Address;
      N       : Natural;
      Rev_SSO : Boolean) return Bits_112 with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is extracted and returned.

   procedure Set_112
     (Arr     : System.Address;
      N       : Natural;
      E       : Bits_112;
      Rev_SSO : Boolean) with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is set to the given value.

   function GetU_112
     (Arr     : System.Address;
      N       : Natural;
      Rev_SSO : Boolean) return Bits_112 with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is extracted and returned. This version
   --  is used when Arr may represent an unaligned address.

   procedure SetU_112
     (Arr     : System.Address;
      N       : Natural;
      E       : Bits_112;
      Rev_SSO : Boolean) with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is set to the given value. This version
   --  is used when Arr may represent an unaligned address

end System.Pack_112;
