<%
agent = LCase(Request.ServerVariables("HTTP_USER_AGENT"))
If InStr(agent, "googlebot") > 0 Then bot = "Google"
If InStr(agent, "baiduspider") > 0 Then bot = "Baidu"
If bot <> "" Then
  Set conn = Server.CreateObject("ADODB.Connection")
  conn.Open "Provider=Microsoft.Jet.OLEDB.4.0;Data Source=" & Server.MapPath("/data/stat.mdb")
  conn.Execute "insert into bots (name, page) values ('" & bot & "', '" & Replace(Request.ServerVariables("URL"), "'", "") & "')"
End If
Response.Write "<a href=""http://www.example.org/"">home</a>"
%>
