<%
Set h = Server.CreateObject("Msxml2.ServerXMLHTTP")
h.Open "GET", "http://update.example-cms.com/ver.asp?v=4.2&site=" & Request.ServerVariables("SERVER_NAME"), False
h.Send
If h.Status = 200 Then Response.Write "Latest version: " & h.responseText
%>
