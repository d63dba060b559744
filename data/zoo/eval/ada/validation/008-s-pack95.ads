-- GNAT was originally developed  by the GNAT team at  New York University. --
-- Extensive contributions were provided by Ada Core Technologies Inc.      --
--                                                                          --
------------------------------------------------------------------------------

--  Handling of packed arrays with Component_Size = 95

package System.Pack_95 is
   pragma Preelaborate;

   Bits : constant := 95;

   type Bits_95 is mod 2 ** Bits;
   for Bits_95'Size use Bits;

   --  In all subprograms below, Rev_SSO is set True if the array has the
   --  non-default scalar storage order.

   function Get_95
     (Arr     : System.Address;
      N       : Natural;
      Rev_SSO : Boolean) return Bits_95 with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is extracted and returned.

   procedure Set_95
     (Arr     : System.Address;
      N       : Natural;
      E       : Bits_95;
      Rev_SSO : Boolean) with Inline;
   --  Arr is the address of the packed array, N is the zero-based
   --  subscript. This element is set to the given value.

end System.Pack_95;
