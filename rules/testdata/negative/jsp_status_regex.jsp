<%@ page contentType="text/html;charset=UTF-8" %>
<%
  // Server status page: JVM memory and the requested section; the .exec( below is a
  // JavaScript regex in the template, not Runtime.exec.
  Runtime rt = Runtime.getRuntime();
  long usedMb = (rt.totalMemory() - rt.freeMemory()) / 1048576;
  String section = request.getParameter("section");
%>
<p>Used memory: <%= usedMb %> MB, section <%= section == null ? "all" : section.replaceAll("[^a-z]", "") %></p>
<script>
  var m = /section=([a-z]+)/.exec(location.search);
  var p = new RegExp("id=(\\d+)").exec(location.search);
  var data = JSON.parse("{\"tag\":\"\u003cb\u003e\",\"amp\":\"\u0026\"}");
</script>
