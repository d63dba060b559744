    L.Add('<HTML>');
    L.Add('<HEAD>');
    L.Add('<TITLE>'+ATitle+'</TITLE>');
    L.Add('</HEAD>');
    L.Add('<BODY>');
    L.Add('<H1>'+ATitle+'</H1>');
    L.Add('<A HREF="#routes">Jump to routes overview</A>');
    if (Length(RouteParams)>0) then
      begin
      L.Add('<H2>Routing parameters:</H2>');
      L.Add('<table>');
      L.Add('<tr><th>Param</th><th>Value</th></tr>');
      for S in RouteParams do
        L.Add('<tr><td>'+S+'</th><th>'+ARequest.RouteParams[S]+'</th></tr>');
      L.Add('</table>');
      end;
    DumpRequest(ARequest,L,False);
    DumpRoutes(L,ARequest.URL);
    L.Add('</BODY>');
    L.Add('</HTML>');
    AResponse.Content:=L.Text;
    AResponse.SendResponse;
  finally
    L.Free;
  end;
end;

Procedure RequestToResponse(ATitle : String; ARequest : TRequest; AResponse : TResponse);

begin
  RequestToResponse(ATitle,ARequest,AResponse,[]);
end;

Procedure SimpleCallBack(ARequest : TRequest; AResponse : TResponse);

begin
