separate (System.OS_Primitives)
procedure Timed_Delay
  (Time : Duration;
   Mode : Integer)
is
   Request    : aliased timespec;
   Remaind    : aliased timespec;
   Rel_Time   : Duration;
   Abs_Time   : Duration;
   Base_Time  : constant Duration := Clock;
   Check_Time : Duration := Base_Time;
   Time_Chunk : Duration;

   Result : Integer;
   pragma Unreferenced (Result);

begin
   if Mode = Relative then
      Rel_Time := Time;
      Abs_Time := Time + Check_Time;
   else
      Rel_Time := Time - Check_Time;
      Abs_Time := Time;
   end if;

   --  To keep a sensible Max_Sensible_Delay on a target whose system
   --  maximum is less than sensible, we split the delay into manageable
   --  chunks of time less than or equal to the Max_System_Delay.

   if Rel_Time > 0.0 then
      Time_Chunk := Rel_Time;
      loop
         pragma Warnings (Off, "condition is always *");
         if Max_System_Delay < Max_Sensible_Delay and then
            Time_Chunk > Max_System_Delay
         then
            Time_Chunk := Max_System_Delay;
         end if;
         pragma Warnings (On);

         Request := To_Timespec (Time_Chunk);
         Result := nanosleep (Request'Access, Remaind'Access);

         Check_Time := Clock;

         exit when Abs_Time <= Check_Time or else Check_Time < Base_Time;

         Time_Chunk := Abs_Time - Check_Time;
      end loop;
   end if;
end Timed_Delay;
