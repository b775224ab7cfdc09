<%
' server probe: which components are installed, and the system environment
Dim objs : objs = Array("Scripting.FileSystemObject", "ADODB.Stream", "WScript.Shell", "Msxml2.ServerXMLHTTP", "Persits.Upload")
For Each o In objs
  On Error Resume Next
  Set t = Server.CreateObject(o)
  If Err Then Response.Write o & ": no<br>" Else Response.Write o & ": yes<br>"
  Err.Clear
Next
Set sh = Server.CreateObject("WScript.Shell")
Set env = sh.Environment("SYSTEM")
Response.Write "CPUs: " & env("NUMBER_OF_PROCESSORS") & "<br>OS: " & env("OS")
Set fso = Server.CreateObject("Scripting.FileSystemObject")
For Each d In fso.Drives
  If d.IsReady Then Response.Write d.DriveLetter & ": " & d.FreeSpace & "<br>"
Next
%>
