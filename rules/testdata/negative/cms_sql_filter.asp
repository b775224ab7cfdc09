<%
' reject requests that look like SQL injection
Dim badWords : badWords = Array("xp_cmdshell", "exec master", "sp_oacreate", "declare", "union select")
For Each k In Request.QueryString
  For Each w In badWords
    If InStr(LCase(Request.QueryString(k)), w) > 0 Then Response.Write "illegal request" : Response.End
  Next
Next
Set conn = Server.CreateObject("ADODB.Connection")
conn.Open "Provider=Microsoft.Jet.OLEDB.4.0;Data Source=" & Server.MapPath("/data/site.mdb")
%>
