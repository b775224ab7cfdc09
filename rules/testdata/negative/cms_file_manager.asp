<!--#include file="admin_check.asp"-->
<%
If Session("AdminPurview") = "" Then Response.End
Set fso = Server.CreateObject("Scri" & "pting.FileSystemObject")
folder = Replace(Request("dir"), "..", "")
base = Server.MapPath("/UploadFiles/" & folder)
If Request("act") = "del" Then fso.DeleteFile base & "\" & Replace(Request("f"), "..", "")
If Request("act") = "mkdir" Then fso.CreateFolder base & "\new"
If Request("act") = "ren" Then fso.MoveFile base & "\" & Request("f"), base & "\" & Request("n")
Set fl = fso.GetFolder(base)
For Each sf In fl.SubFolders
  Response.Write "<a href='?dir=" & folder & "/" & sf.Name & "'>" & sf.Name & "</a><br>"
Next
For Each f In fl.Files
  Response.Write f.Name & " " & f.Size & " " & f.DateLastModified & "<br>"
Next
%>
