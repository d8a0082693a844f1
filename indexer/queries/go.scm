; Go tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading // comments, found by the extractor.

; --- definitions -------------------------------------------------------------

(function_declaration
  name: (identifier) @name) @definition.function

; `func (s *Server) Start()` is Server.Start.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration type: (_) @receiver))
  name: (field_identifier) @name) @definition.function

; Methods listed by an interface.
(method_elem
  name: (field_identifier) @name) @definition.function

; `add := func(...) {...}` and `var handler = func(...) {...}`.
(short_var_declaration
  left: (expression_list . (identifier) @name .)
  right: (expression_list . (func_literal) .)) @definition.function

(var_declaration
  (var_spec
    . name: (identifier) @name .
    value: (expression_list . (func_literal) .))) @definition.function

(var_spec_list
  (var_spec
    . name: (identifier) @name .
    value: (expression_list . (func_literal) .)) @definition.function)

; Types. `type T struct {...}` is one definition from `type` on (for its signature and
; comment); each type of a `type (...)` group is its own definition.
((type_declaration
   (type_spec name: (type_identifier) @name type: (struct_type))) @definition.struct
  (#not-match? @definition.struct "^type[ \t]*\\("))
((type_declaration
   (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface
  (#not-match? @definition.interface "^type[ \t]*\\("))
((type_declaration
   (type_spec name: (type_identifier) @name type: (_) @_type)) @definition.type
  (#not-match? @definition.type "^type[ \t]*\\(")
  (#not-match? @_type "^(struct|interface)[ \t\n{]"))
((type_declaration
   (type_alias name: (type_identifier) @name)) @definition.type
  (#not-match? @definition.type "^type[ \t]*\\("))

((type_declaration
   (type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct) @_group
  (#match? @_group "^type[ \t]*\\("))
((type_declaration
   (type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface) @_group
  (#match? @_group "^type[ \t]*\\("))
((type_declaration
   (type_spec name: (type_identifier) @name type: (_) @_type) @definition.type) @_group
  (#match? @_group "^type[ \t]*\\(")
  (#not-match? @_type "^(struct|interface)[ \t\n{]"))
((type_declaration
   (type_alias name: (type_identifier) @name) @definition.type) @_group
  (#match? @_group "^type[ \t]*\\("))

; --- inheritance ---------------------------------------------------------------
; Embedded struct fields and embedded interfaces: `type S struct { Base; *pkg.Other }`.

(type_spec
  name: (type_identifier) @name
  type: (struct_type
    (field_declaration_list
      (field_declaration
        !name
        type: [(type_identifier) @base
               (qualified_type) @base
               (generic_type type: (_) @base)])))) @inheritance

(type_spec
  name: (type_identifier) @name
  type: (interface_type
    (type_elem . [(type_identifier) (qualified_type)] @base .))) @inheritance

; --- imports -------------------------------------------------------------------

(import_spec
  path: (_) @import.source) @import

; --- calls ---------------------------------------------------------------------

(call_expression
  function: [(identifier) @name
             (selector_expression field: (field_identifier) @name)
             (parenthesized_expression (identifier) @name)
             (parenthesized_expression (selector_expression field: (field_identifier) @name))]) @reference.call

; A composite literal constructs its type: `Server{Addr: a}`, `&pkg.Config{}`.
(composite_literal
  type: [(type_identifier) @name
         (qualified_type name: (type_identifier) @name)
         (generic_type type: [(type_identifier) @name
                              (qualified_type name: (type_identifier) @name)])]) @reference.call
