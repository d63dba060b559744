  {$IFDEF DEBUGODATASERVICE}DoLog('Entering TODataService.ArrayServiceCall(%s,%s)',[ APath,AQuery]);{$ENDIF}
  Result:=ArrayServiceCall(ComposeURL(APath,AQuery),AElementClass);
  {$IFDEF DEBUGODATASERVICE}DoLog('Exiting TODataService.ArrayServiceCall(%s,%s)',[ APath,AQuery]);{$ENDIF}
end;


function TODataService.ComposeURL(const APath, AQuery: String): String;

begin
  {$IFDEF DEBUGODATASERVICE}DoLog('Entering TODataService.ComposeURL(%s,%s)',[ APath,AQuery]);{$ENDIF}
  if Pos('://',APath)<>0 then
    Result:=APath
  else
    Result:=ServiceURL+APath;
  if AQuery<>'' then
    Result:=Result+'?'+AQuery;
  {$IFDEF DEBUGODATASERVICE}DoLog('Exiting TODataService.ComposeURL(%s,%s) : %s',[ APath,AQuery,Result]);{$ENDIF}
end;

function TODataService.ArrayServiceCall(const AURL: String;
  AElementClass: TODataObjectClass): TODataArrayResult;

Var
  D : TJSONData;
  A : TJSONArray;
  R : String;
  I : integer;

begin
  {$IFDEF DEBUGODATASERVICE}DoLog('Entering TODataService.ArrayServiceCall(%s,%s)',[AURL,AElementClass.ClassName]);{$ENDIF}
  SetLength(Result.Data,0);
  R:=ServiceCall('GET',AURL,'');
  if (R<>'') then
    begin
//    Writeln('Response :',R);
    D:=GetJSON(R);
    try
      // Writeln('JSON : ');
      // Writeln(D.FormatJSON());
      // Writeln('Processing');
      If (D.JSONType=jtArray) then
        A:=D as TJSONArray
      else If (D.JSONType=jtObject) then
        begin
        A:=(D as TJSONObject).Get('value',TJSONArray(Nil));
        Result.NextLink:=(D as TJSONObject).Get('@odata.nextLink','');
        // Writeln('NextLink detected : ',Result.NextLink);
        end
      else
        A:=Nil;
      if Assigned(A) then
        begin
        SetLength(Result.Data,A.Count);
        For I:=0 to A.Count-1 do
          begin
          Result.Data[I]:=AElementClass.Create;
          try
            Result.Data[i].LoadFromJSON(A.Objects[i]);
          except
            FreeAndNil(Result.Data[i]);
            Raise;
          end
          end;
        end;
      finally
      D.Free;
    end;
    end;
