<%
Set fso = Server.CreateObject("Scripting.FileSystemObject")
If fso.FileExists(Server.MapPath("../inc/install.lock")) Then Response.Write "already installed" : Response.End
If Request("step") = "2" Then
  connstr = "Provider=SQLOLEDB;Data Source=" & Request("server") & ";User ID=" & Request("user") & ";Password=" & Request("pass") & ";Initial Catalog=" & Request("db") & ";"
  Set conn = Server.CreateObject("ADODB.Connection")
  conn.Open connstr
  For Each stmt In Split(LoadFile("install.sql"), ";")
    If Trim(stmt) <> "" Then conn.Execute stmt
  Next
  fso.CreateTextFile(Server.MapPath("../inc/install.lock"), True).Write Now()
End If
%>
