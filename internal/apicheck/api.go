package main

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// modFile is what apicheck needs of a go.mod file: the module path and the
// minor version of its go line (0 when there is none).
type modFile struct {
	path  string
	minor int
}

// readModFile reads the go.mod file in root.
func readModFile(root string) (modFile, error) {
	name := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return modFile{}, err
	}
	var mf modFile
	for line := range strings.SplitSeq(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		switch fields[0] {
		case "module":
			mf.path = fields[1]
			if strings.HasPrefix(mf.path, `"`) || strings.HasPrefix(mf.path, "`") {
				if mf.path, err = strconv.Unquote(mf.path); err != nil {
					return modFile{}, fmt.Errorf("%s: bad module line %q", name, line)
				}
			}
		case "go":
			// go 1.26 or go 1.26.1: the minor version is the second number.
			parts := strings.Split(fields[1], ".")
			if len(parts) >= 2 && parts[0] == "1" {
				mf.minor, _ = strconv.Atoi(parts[1])
			}
		}
	}
	if mf.path == "" {
		return modFile{}, fmt.Errorf("%s: no module line", name)
	}
	return mf, nil
}

// buildContext decides which files belong to a package: those of
// linux/amd64 without cgo, whatever the machine, and with the release tags of
// the module's go line (go1.1 to go1.N) rather than of the running toolchain,
// so that the record is the same everywhere.
func buildContext(goMinor int) build.Context {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH = "linux", "amd64"
	ctx.CgoEnabled = false
	ctx.BuildTags, ctx.ToolTags = nil, nil
	if goMinor > 0 {
		ctx.ReleaseTags = nil
		for i := 1; i <= goMinor; i++ {
			ctx.ReleaseTags = append(ctx.ReleaseTags, fmt.Sprintf("go1.%d", i))
		}
	}
	return ctx
}

// moduleAPI returns the sorted API lines of every importable package of the
// module at root.
func moduleAPI(root string, mod modFile) ([]string, error) {
	ctx := buildContext(mod.minor)
	var lines []string
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if dir != root {
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "internal" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		importPath := mod.path
		if rel != "." {
			importPath += "/" + filepath.ToSlash(rel)
		}
		pkgLines, err := packageAPI(&ctx, dir, importPath)
		lines = append(lines, pkgLines...)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

// packageAPI returns the API lines of the package in dir, none when there
// is no package or it is package main.
func packageAPI(ctx *build.Context, dir, importPath string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	pkgName := ""
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		match, err := ctx.MatchFile(dir, name)
		if err != nil {
			return nil, err
		}
		if !match {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if pkgName != "" && f.Name.Name != pkgName {
			return nil, fmt.Errorf("%s: packages %s and %s in one directory", dir, pkgName, f.Name.Name)
		}
		pkgName = f.Name.Name
		files = append(files, f)
	}
	if pkgName == "" || pkgName == "main" {
		return nil, nil
	}

	p := &pkgAPI{
		path:    importPath,
		types:   map[string]*ast.TypeSpec{},
		methods: map[string][]*ast.FuncDecl{},
		funcs:   map[string]*ast.FuncDecl{},
	}
	for _, f := range files {
		dropParamNames(f)
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if decl.Recv == nil {
					p.funcs[decl.Name.Name] = decl
				} else if len(decl.Recv.List) == 1 {
					if id, local := baseIdent(decl.Recv.List[0].Type); id != nil && local {
						p.methods[id.Name] = append(p.methods[id.Name], decl)
					}
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok {
						p.types[ts.Name.Name] = ts
					}
				}
			}
		}
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			p.decl(decl)
		}
	}
	return p.lines, nil
}

// dropParamNames removes the parameter and result names of every function
// type in f, as the API lines write types only: func(a, b int) becomes
// func(int, int). Type parameter names are kept.
func dropParamNames(f *ast.File) {
	strip := func(fl *ast.FieldList) *ast.FieldList {
		if fl == nil {
			return nil
		}
		out := &ast.FieldList{}
		for _, field := range fl.List {
			for range max(1, len(field.Names)) {
				out.List = append(out.List, &ast.Field{Type: field.Type})
			}
		}
		return out
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if ft, ok := n.(*ast.FuncType); ok {
			ft.Params, ft.Results = strip(ft.Params), strip(ft.Results)
		}
		return true
	})
}

// pkgAPI gathers the API lines of one package.
type pkgAPI struct {
	path    string
	types   map[string]*ast.TypeSpec   // every type of the package, by name
	methods map[string][]*ast.FuncDecl // every method, by receiver type name
	funcs   map[string]*ast.FuncDecl   // every function, by name
	lines   []string
}

func (p *pkgAPI) emit(format string, args ...any) {
	p.lines = append(p.lines, "pkg "+p.path+", "+fmt.Sprintf(format, args...))
}

func (p *pkgAPI) decl(decl ast.Decl) {
	switch decl := decl.(type) {
	case *ast.FuncDecl:
		if !decl.Name.IsExported() {
			return
		}
		if decl.Recv == nil {
			p.emit("func %s%s", decl.Name.Name, signature(decl.Type))
			return
		}
		if len(decl.Recv.List) != 1 {
			return
		}
		if id, _ := baseIdent(decl.Recv.List[0].Type); id != nil && id.IsExported() {
			p.emit("method (%s) %s%s", expr(decl.Recv.List[0].Type), decl.Name.Name, signature(decl.Type))
		}
	case *ast.GenDecl:
		switch decl.Tok {
		case token.TYPE:
			for _, spec := range decl.Specs {
				if ts := spec.(*ast.TypeSpec); ts.Name.IsExported() {
					p.typeSpec(ts)
				}
			}
		case token.CONST:
			p.consts(decl)
		case token.VAR:
			for _, spec := range decl.Specs {
				p.vars(spec.(*ast.ValueSpec))
			}
		}
	}
}

func (p *pkgAPI) typeSpec(ts *ast.TypeSpec) {
	head := ts.Name.Name + typeParams(ts.TypeParams)
	if ts.Assign.IsValid() {
		p.emit("type %s = %s", head, expr(ts.Type))
		return
	}
	switch t := ts.Type.(type) {
	case *ast.StructType:
		p.emit("type %s struct", head)
		shadowed := map[string]bool{}
		for _, m := range p.methods[ts.Name.Name] {
			shadowed[m.Name.Name] = true
		}
		p.fields(ts, t, false, shadowed, map[string]bool{ts.Name.Name: true})
	case *ast.InterfaceType:
		var names, members []string
		p.interfaceMembers(t, &names, &members, map[string]bool{ts.Name.Name: true})
		slices.Sort(names)
		if len(names) == 0 {
			p.emit("type %s interface {}", head)
		} else {
			p.emit("type %s interface { %s }", head, strings.Join(names, ", "))
		}
		for _, m := range members {
			p.emit("type %s interface, %s", head, m)
		}
	default:
		p.emit("type %s %s", head, expr(ts.Type))
	}
}

// fields records the exported fields of st as fields of the struct type
// ts: st is ts's own struct type, or one embedded in it, through a pointer
// somewhere on the way when viaPtr. The exported fields and methods of an
// unexported embedded type of the package are promoted to ts, unless a name
// at a shallower depth (in shadowed) hides them; visiting stops a cycle.
func (p *pkgAPI) fields(ts *ast.TypeSpec, st *ast.StructType, viaPtr bool, shadowed, visiting map[string]bool) {
	head := ts.Name.Name + typeParams(ts.TypeParams)
	var hidden []*ast.Field
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			id, local := baseIdent(f.Type)
			if id == nil || shadowed[id.Name] {
				continue
			}
			shadowed[id.Name] = true
			if id.IsExported() {
				p.emit("type %s struct, embedded %s", head, expr(f.Type))
			} else if local {
				hidden = append(hidden, f)
			}
			continue
		}
		for _, n := range f.Names {
			if shadowed[n.Name] {
				continue
			}
			shadowed[n.Name] = true
			if n.IsExported() {
				p.emit("type %s struct, %s %s", head, n.Name, expr(f.Type))
			}
		}
	}

	recv := ts.Name.Name + typeParamNames(ts.TypeParams)
	for _, f := range hidden {
		id, _ := baseIdent(f.Type)
		inner := p.types[id.Name]
		if inner == nil || visiting[id.Name] {
			continue
		}
		_, ptr := f.Type.(*ast.StarExpr)
		ptr = ptr || viaPtr
		for _, m := range p.methods[id.Name] {
			if !m.Name.IsExported() || shadowed[m.Name.Name] {
				continue
			}
			shadowed[m.Name.Name] = true
			r := recv
			if _, ptrRecv := m.Recv.List[0].Type.(*ast.StarExpr); ptrRecv && !ptr {
				r = "*" + recv // in the method set of *T only
			}
			p.emit("method (%s) %s%s", r, m.Name.Name, signature(m.Type))
		}
		visiting[id.Name] = true
		switch t := inner.Type.(type) {
		case *ast.StructType:
			p.fields(ts, t, ptr, shadowed, visiting)
		case *ast.InterfaceType:
			var names, members []string
			p.interfaceMembers(t, &names, &members, visiting)
			for _, m := range members {
				name, _, isMethod := strings.Cut(m, "(")
				if isMethod && token.IsIdentifier(name) && !shadowed[name] {
					shadowed[name] = true
					p.emit("method (%s) %s", recv, m)
				}
			}
		}
		delete(visiting, id.Name)
	}
}

// interfaceMembers appends the names of all methods of it (unexported ones
// included) to names, and its exported methods, embedded types and type-set
// terms to members. An unexported interface of the package embedded in it
// is expanded in place; visiting stops a cycle.
func (p *pkgAPI) interfaceMembers(it *ast.InterfaceType, names, members *[]string, visiting map[string]bool) {
	for _, f := range it.Methods.List {
		if len(f.Names) > 0 {
			for _, n := range f.Names {
				*names = append(*names, n.Name)
				if n.IsExported() {
					*members = append(*members, n.Name+signature(f.Type.(*ast.FuncType)))
				}
			}
			continue
		}
		id, local := baseIdent(f.Type)
		if id == nil {
			*members = append(*members, expr(f.Type)) // ~int | ~string
			continue
		}
		if inner := p.types[id.Name]; local && !id.IsExported() && inner != nil && !visiting[id.Name] {
			if innerIt, ok := inner.Type.(*ast.InterfaceType); ok {
				visiting[id.Name] = true
				p.interfaceMembers(innerIt, names, members, visiting)
				delete(visiting, id.Name)
				continue
			}
		}
		*members = append(*members, "embedded "+expr(f.Type))
	}
}

// consts records a const declaration. In a group, a line without values
// repeats the type and the values of the last line with values, and iota is
// the line's index.
func (p *pkgAPI) consts(decl *ast.GenDecl) {
	var typ ast.Expr
	var values []ast.Expr
	for i, spec := range decl.Specs {
		vs := spec.(*ast.ValueSpec)
		if len(vs.Values) > 0 {
			typ, values = vs.Type, vs.Values
		}
		for j, n := range vs.Names {
			if !n.IsExported() {
				continue
			}
			if typ != nil {
				p.emit("const %s %s", n.Name, expr(typ))
			}
			if j < len(values) {
				p.emit("const %s = %s", n.Name, withIota(values[j], i))
			}
		}
	}
}

// withIota renders x with every iota replaced by its value.
func withIota(x ast.Expr, iota int) string {
	var ids []*ast.Ident
	ast.Inspect(x, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
			ids = append(ids, id)
		}
		return true
	})
	for _, id := range ids {
		id.Name = strconv.Itoa(iota)
	}
	s := expr(x)
	for _, id := range ids {
		id.Name = "iota"
	}
	return s
}

func (p *pkgAPI) vars(vs *ast.ValueSpec) {
	for i, n := range vs.Names {
		if !n.IsExported() {
			continue
		}
		typ := ""
		switch {
		case vs.Type != nil:
			typ = expr(vs.Type)
		case len(vs.Values) == len(vs.Names):
			typ = p.typeOf(vs.Values[i])
		}
		if typ == "" {
			p.emit("var %s", n.Name)
		} else {
			p.emit("var %s %s", n.Name, typ)
		}
	}
}

// typeOf returns the type of an obvious initial value, "" if not obvious.
func (p *pkgAPI) typeOf(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return p.typeOf(x.X)
	case *ast.BasicLit:
		return map[token.Token]string{token.INT: "int", token.FLOAT: "float64", token.IMAG: "complex128",
			token.CHAR: "rune", token.STRING: "string"}[x.Kind]
	case *ast.Ident:
		if x.Name == "true" || x.Name == "false" {
			return "bool"
		}
	case *ast.CompositeLit:
		if x.Type != nil {
			return expr(x.Type)
		}
	case *ast.UnaryExpr:
		if lit, ok := x.X.(*ast.CompositeLit); ok && x.Op == token.AND && lit.Type != nil {
			return "*" + expr(lit.Type)
		}
	case *ast.FuncLit:
		return expr(x.Type)
	case *ast.CallExpr:
		switch fun := x.Fun.(type) {
		case *ast.SelectorExpr:
			if pkg, ok := fun.X.(*ast.Ident); ok &&
				(pkg.Name == "errors" && fun.Sel.Name == "New" || pkg.Name == "fmt" && fun.Sel.Name == "Errorf") {
				return "error"
			}
		case *ast.Ident:
			if p.types[fun.Name] != nil && len(x.Args) == 1 {
				return fun.Name // a conversion
			}
			if fd := p.funcs[fun.Name]; fd != nil && fd.Type.TypeParams == nil &&
				fd.Type.Results != nil && len(fd.Type.Results.List) == 1 {
				return expr(fd.Type.Results.List[0].Type)
			}
		}
	}
	return ""
}

// baseIdent returns the name of the type that x, a receiver or an embedded
// type, is or points to, and whether it is of this package (not qualified).
func baseIdent(x ast.Expr) (id *ast.Ident, local bool) {
	for {
		switch t := x.(type) {
		case *ast.Ident:
			return t, true
		case *ast.SelectorExpr:
			return t.Sel, false
		case *ast.StarExpr:
			x = t.X
		case *ast.ParenExpr:
			x = t.X
		case *ast.IndexExpr:
			x = t.X
		case *ast.IndexListExpr:
			x = t.X
		default:
			return nil, false
		}
	}
}

// expr renders x on one line. The names of parameters are gone already
// (dropParamNames); struct tags are left out.
func expr(x ast.Expr) string { return types.ExprString(x) }

// signature renders a function's type parameters, parameters and results:
// [T any](T, ...Option) (*Client, error).
func signature(ft *ast.FuncType) string {
	return typeParams(ft.TypeParams) + strings.TrimPrefix(expr(ft), "func")
}

// typeParams renders a type parameter list as declared: [K comparable, V any].
func typeParams(fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	var parts []string
	for _, f := range fl.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		parts = append(parts, strings.Join(names, ", ")+" "+expr(f.Type))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// typeParamNames renders the names of a type parameter list, as a receiver
// writes them: [K, V].
func typeParamNames(fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	var names []string
	for _, f := range fl.List {
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}
