

Procedure TMutation.Setinsert(AIndex : Integer; const AValue : TEntity); 

begin
  If (Finsert=AValue) then exit;
  Finsert:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TMutation.Setdelete(AIndex : Integer; const AValue : TKey); 

begin
  If (Fdelete=AValue) then exit;
  Fdelete:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TMutation.Setupsert(AIndex : Integer; const AValue : TEntity); 

begin
  If (Fupsert=AValue) then exit;
  Fupsert:=AValue;
  MarkPropertyChanged(AIndex);
end;





{ --------------------------------------------------------------------
  TRunQueryRequest
  --------------------------------------------------------------------}


Procedure TRunQueryRequest.SetpartitionId(AIndex : Integer; const AValue : TPartitionId); 

begin
  If (FpartitionId=AValue) then exit;
  FpartitionId:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TRunQueryRequest.SetgqlQuery(AIndex : Integer; const AValue : TGqlQuery); 

begin
  If (FgqlQuery=AValue) then exit;
  FgqlQuery:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TRunQueryRequest.Setquery(AIndex : Integer; const AValue : TQuery); 

begin
  If (Fquery=AValue) then exit;
  Fquery:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TRunQueryRequest.SetreadOptions(AIndex : Integer; const AValue : TReadOptions); 

begin
  If (FreadOptions=AValue) then exit;
  FreadOptions:=AValue;
  MarkPropertyChanged(AIndex);
end;





{ --------------------------------------------------------------------
  TCompositeFilter
  --------------------------------------------------------------------}


Procedure TCompositeFilter.Setop(AIndex : Integer; const AValue : String); 

begin
  If (Fop=AValue) then exit;
  Fop:=AValue;
  MarkPropertyChanged(AIndex);
end;



Procedure TCompositeFilter.Setfilters(AIndex : Integer; const AValue : TCompositeFilterTypefiltersArray); 

begin
  If (Ffilters=AValue) then exit;
  Ffilters:=AValue;
  MarkPropertyChanged(AIndex);
end;


//2.6.4. bug workaround
{$IFDEF VER2_6}
