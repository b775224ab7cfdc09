<%@ page import="java.io.*" %>
<%
  // Host status for the operations dashboard: fixed commands only.
  String refresh = request.getParameter("refresh");
  Process p = Runtime.getRuntime().exec("uptime");
  BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
  String up = r.readLine();
  Process d = Runtime.getRuntime().exec("df -h /var");
  r = new BufferedReader(new InputStreamReader(d.getInputStream()));
%>
<meta http-equiv="refresh" content="<%= refresh != null && refresh.matches("\\d+") ? refresh : "60" %>">
<pre><%= up %>
<% for (String l; (l = r.readLine()) != null; ) { out.println(l); } %></pre>
