<%@ page contentType="text/html;charset=UTF-8" import="java.io.*,java.net.*" %>
<%
  // Weather widget: the same fixed feed for every visitor.
  BufferedReader r = new BufferedReader(new InputStreamReader(new URL("https://weather.example.org/widget.html").openStream(), "UTF-8"));
  for (String l; (l = r.readLine()) != null; ) out.println(l);
  String city = request.getParameter("city");
%>
