package phpscan

import "strings"

// builtinNew is new on one of PHP's classes: those that call a function
// by name (reflection), write a file (SplFileObject) or connect to a
// database keep what they were given.
func (a *analyzer) builtinNew(line int, cname string, obj Value, args []arg, sc *scope) Value {
	a0 := argAt(args, 0)
	switch cname {
	case "reflectionfunction", "reflectionclass", "splfileobject", "splfileinfo", "splfixedarray", "arrayobject", "arrayiterator":
		t := a0
		obj.fn = &callable{target: &t}
		obj.cls = cname
		if cname == "arrayobject" || cname == "arrayiterator" {
			obj.taint = a0.deepTaint()
		}
		return obj
	case "reflectionmethod":
		if len(args) > 1 {
			t := Value{k: kArray, arr: newArray()}
			t.arr.push(a0)
			t.arr.push(argAt(args, 1))
			obj.fn = &callable{target: &t}
		}
		obj.cls = cname
		return obj
	case "directoryiterator", "recursivedirectoryiterator", "filesystemiterator", "globiterator", "recursiveiteratoriterator":
		obj.cls = cname
		obj.flags |= fListed
		return obj
	case "com", "variant", "dotnet":
		// new COM('WScript.Shell'): PHP on Windows runs commands through it.
		t := a0
		obj.fn = &callable{target: &t}
		obj.cls = "com"
		return obj
	case "mysqli", "pdo":
		for _, x := range args[:min(len(args), 3)] {
			if t := x.v.deepTaint(); t != nil && x.v.pre == "" {
				a.report(RuleRequestSQL, line, "new "+cname, t.step(line, "a connection parameter of new %s", cname), "")
				break
			}
		}
		obj.cls = cname
		return obj
	}
	a.runClosureArgs(line, args, sc)
	m := mix(values(args)...)
	obj.taint, obj.flags = m.taint, m.flags
	return obj
}

// builtinMethod is a method call on an object of one of PHP's classes
// (or of a class the file does not declare).
func (a *analyzer) builtinMethod(line int, obj Value, name string, args []arg, sc *scope) Value {
	lname := strings.ToLower(name)
	var target Value
	if obj.fn != nil && obj.fn.target != nil {
		target = *obj.fn.target
	}
	switch obj.cls {
	case "reflectionfunction", "reflectionmethod":
		switch lname {
		case "invoke":
			return a.callValue(line, target, args, sc, "ReflectionFunction::invoke")
		case "invokeargs":
			var cbArgs []arg
			if v := argAt(args, 0); v.k == kArray {
				for _, e := range v.arr.values() {
					cbArgs = append(cbArgs, arg{v: e})
				}
			} else {
				cbArgs = []arg{{v: mix(v)}}
			}
			return a.callValue(line, target, cbArgs, sc, "ReflectionFunction::invokeArgs")
		}
	case "splfileobject":
		if lname == "fwrite" {
			a.fileWrite(line, "SplFileObject::fwrite", target, argAt(args, 0), sc)
			return Value{}
		}
	case "com":
		switch lname {
		case "exec", "run", "shellexecute":
			cmd := argAt(args, 0)
			if lname == "shellexecute" {
				cmd = mix(values(args)...)
			}
			a.commandSink(line, "COM "+name, cmd)
			return mix(cmd)
		}
	}
	a.runClosureArgs(line, args, sc)
	out := mixFirst(values(args))
	out.flags |= obj.flags & fListed // $file->getPathname() of a directory walk
	return out
}
