  
  initOAM();
   
  //set the video mode
  videoSetMode(  MODE_0_2D or 
                 DISPLAY_SPR_ACTIVE or		//turn on sprites
                 DISPLAY_BG0_ACTIVE or		//turn on background 0
                 DISPLAY_SPR_1D			      //this is used when in tile mode
                  );

  // Sprite initialisation
  Move(ballpalette_bin, SPRITE_PALETTE^, ballpalette_bin_size);
  Move(balldata_bin, SPRITE_GFX^, balldata_bin_size);
 
  consoleInit(nil, 0, BgType_Text4bpp, BgSize_T_256x256, 31, 0, true, true); 
  
  iprintf(#27'[4;8H' + 'Touch Screen Test');
  iprintf(#27'[15;4H' + 'Right Shoulder toggles');
 
  while true do
  begin
    swiWaitForVBlank();
    updateOAM();
  
    // read the button states
    scanKeys();
  
    // read the touchscreen coordinates
    touchRead(touch);
  
    pressed := keysDown();  // buttons pressed this loop
    held := keysHeld();     // buttons currently held

		if (pressed and KEY_START) <> 0 then 
      exit;  
    // Right Shoulder button toggles the mode
		if ( pressed and KEY_R) <> 0 then Inc(TouchType);

		if TouchType = ttContinuous then 
      printf(#27 + '[14;4H' + 'Touch mode: CONTINUOUS ')
    else
      printf(#27 + '[14;4H' + 'Touch mode: SINGLE SHOT');

    iprintf(#27'[6;5H' + 'Touch x = %04X, %04X'#10, touch.rawx, touch.px);
    iprintf(#27'[7;5H' + 'Touch y = %04X, %04X'#10, touch.rawy, touch.py);
    
    
    iprintf(#27'[0;18H' + 'keys: %08X'#10, keysHeld());
    iprintf(#27'[9;10H' + 'Frame %d'#10, frame);
  
		if (TouchType = ttSingle) and not ( (pressed and KEY_TOUCH) <> 0) then continue;

		if ((held and KEY_TOUCH) = 0) or (touch.rawx = 0) or (touch.rawy = 0) then continue;

    
    iprintf(#27'[12;12H' + '(%d,%d)      ', touch.px, touch.py);

    if ( touch.rawx > max_x)	then	max_x := touch.rawx;
    if ( touch.rawy > max_y)		then	max_y := touch.rawy;
    if ( touch.px > max_px)	then	max_px := touch.px;
    if ( touch.py > max_py)	then	max_py := touch.py;
    
    if ( touch.rawx < min_x)		then	min_x := touch.rawx;
