<!--#include file="conn.asp"-->
<%
If Session("AdminName") = "" Then Response.Redirect "login.asp"
Function SaveRemotePic(url, id)
  Set h = Server.CreateObject("Microsoft.XMLHTTP")
  h.Open "GET", url, False
  h.Send
  Set s = Server.CreateObject("ADODB.Stream")
  s.Type = 1 : s.Open
  s.Write h.responseBody
  s.SaveToFile Server.MapPath("/UploadFiles/" & Year(Now) & "/" & id & ".jpg"), 2
  s.Close
End Function
Call SaveRemotePic(Trim(Request.Form("picurl")), CLng(Request.Form("id")))
%>
