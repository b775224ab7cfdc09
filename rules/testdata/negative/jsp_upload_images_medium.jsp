<%@ page import="java.io.*" %>
<%
  // Hand-written multipart parsing (an old gallery): only images, renamed by the server.
  if ("POST".equals(request.getMethod())) {
    DataInputStream in = new DataInputStream(request.getInputStream());
    byte[] all = new byte[request.getContentLength()];
    in.readFully(all);
    String head = new String(all, 0, Math.min(all.length, 1024), "ISO-8859-1");
    int i = head.indexOf("filename=\"") + 10;
    String name = head.substring(i, head.indexOf('"', i)).toLowerCase();
    if (name.endsWith(".jpg") || name.endsWith(".png")) {
      int start = head.indexOf("\r\n\r\n") + 4;
      FileOutputStream fo = new FileOutputStream(application.getRealPath("/gallery/") + System.currentTimeMillis() + ".img");
      fo.write(all, start, all.length - start - 64);
      fo.close();
    }
  }
%>
