<%@ page import="java.io.*" %>
<%
  String name = request.getParameter("img");
  File f = new File(application.getRealPath("/images/") + request.getParameter("img"));
  if (name != null && name.matches("[a-z0-9_]+\\.png") && f.exists()) {
    out.print("<img src=\"images/" + name + "\"> " + f.length() + " bytes");
  } else {
    out.println("no image " + request.getParameter("img"));
  }
%>
