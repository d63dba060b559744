  jdeferr,
  jerror,
  cdjpeg;               { Common decls for cjpeg/djpeg applications }


{ The module selection routine for Targa format input. }

{GLOBAL}
function jinit_read_targa (cinfo : j_compress_ptr) : cjpeg_source_ptr;

implementation

{ Macros to deal with unsigned chars as efficiently as compiler allows }

type
  U_CHAR = byte;
  UCH = int;
(*type
{$ifdef CHAR_IS_UNSIGNED}
  UCH = int;
{$else}
  UCH = int (x and $FF);
{$endif}
*)
{ Private version of data source object }

type
  tga_source_ptr = ^tga_source_struct;
  tga_source_struct = record
    pub : cjpeg_source_struct; { public fields }

    cinfo : j_compress_ptr;             { back link saves passing separate parm }

    colormap : JSAMPARRAY;              { Targa colormap (converted to my format) }

    whole_image : jvirt_sarray_ptr;     { Needed if funny input row order }
    current_row : JDIMENSION;           { Current logical row number to read }

    { Pointer to routine to extract next Targa pixel from input file }
    read_pixel : procedure (sinfo : tga_source_ptr);

    { Result of read_pixel is delivered here: }
    tga_pixel : array[0..4-1] of U_CHAR;

    pixel_size : int;                   { Bytes per Targa pixel (1 to 4) }

    { State info for reading RLE-coded pixels; both counts must be init to 0 }
    block_count : int;          { # of pixels remaining in RLE block }
    dup_pixel_count : int;      { # of times to duplicate previous pixel }

    { This saves the correct pixel-row-expansion method for preload_image }
    get_pixel_rows : function(cinfo : j_compress_ptr;
                              sinfo : cjpeg_source_ptr) : JDIMENSION;
  end;

{ For expanding 5-bit pixel values to 8-bit with best rounding }

const
  c5to8bits : array[0..32-1] of UINT8 =
               (  0,   8,  16,  25,  33,  41,  49,  58,
                 66,  74,  82,  90,  99, 107, 115, 123,
                132, 140, 148, 156, 165, 173, 181, 189,
                197, 206, 214, 222, 230, 239, 247, 255);

function getc(f : fileptr) : byte;
begin
