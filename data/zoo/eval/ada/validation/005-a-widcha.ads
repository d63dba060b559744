------------------------------------------------------------------------------
--                                                                          --
--                         GNAT RUN-TIME COMPONENTS                         --
--                                                                          --
--                  A D A . W I D E _ C H A R A C T E R S                   --
--                                                                          --
--                                 S p e c                                  --
--                                                                          --
-- This specification is derived from the Ada Reference Manual for use with --
-- GNAT.  In accordance with the copyright of that document, you can freely --
-- copy and modify this specification,  provided that if you redistribute a --
-- modified version,  any changes that you have made are clearly indicated. --
--                                                                          --
------------------------------------------------------------------------------

--  Note: strictly this is an Ada 2005 package, but we make it freely
--  available in Ada 95 mode, since it deals only with wide characters.

package Ada.Wide_Characters is
   pragma Pure;
end Ada.Wide_Characters;
