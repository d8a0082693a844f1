; TypeScript tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /** */ or // comments, found by the extractor. tsx.scm is this
; file plus patterns for JSX elements, which this grammar does not have.

; --- definitions -------------------------------------------------------------

(class_declaration
  name: (type_identifier) @name) @definition.class

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

; A named class expression: `module.exports = class Shape {}`.
(class
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

; `namespace A.B {}` and `module A {}` (not `declare module "pkg"`).
(internal_module
  name: [(identifier) (nested_identifier)] @name) @definition.module

(module
  name: [(identifier) (nested_identifier)] @name) @definition.module

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

; Overload and ambient signatures: `function f(a: string): void;`.
(function_signature
  name: (identifier) @name) @definition.function

; Methods, getters and setters (in classes and object literals), abstract methods and the
; methods of interfaces.
(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.function

(abstract_method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.function

(method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.function

; Class fields holding a function: `onClick = (e: Event) => {...}`.
(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; `const f = () => {}` / `let f = function () {}` / `const C = class {}`. A declaration of
; one name is the definition (so its signature and comment include `const`); each name of
; a declaration of several is its own definition.
([(lexical_declaration
   . (variable_declarator
       name: (identifier) @name
       value: [(arrow_function) (function_expression) (generator_function)]) .)
  (variable_declaration
   . (variable_declarator
       name: (identifier) @name
       value: [(arrow_function) (function_expression) (generator_function)]) .)]
  @definition.function)

([(lexical_declaration
   . (variable_declarator
       name: (identifier) @name
       value: (class !name)) .)
  (variable_declaration
   . (variable_declarator
       name: (identifier) @name
       value: (class !name)) .)]
  @definition.class)

([(lexical_declaration
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
   . (variable_declarator))
  (lexical_declaration
   (variable_declarator) .
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)
  (variable_declaration
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
   . (variable_declarator))
  (variable_declaration
   (variable_declarator) .
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)])

; `Shape.prototype.area = function () {}` is the method Shape.area.
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (member_expression
        object: (identifier) @receiver
        property: (property_identifier) @_prototype)
      property: (property_identifier) @name)
    right: [(arrow_function) (function_expression) (generator_function)])
  (#eq? @_prototype "prototype")) @definition.function

; `exports.f = function () {}` / `module.exports.f = () => {}`.
(expression_statement
  (assignment_expression
    left: (member_expression
      object: (_) @_exports
      property: (property_identifier) @name)
    right: [(arrow_function) (function_expression) (generator_function)])
  (#match? @_exports "^(module\\.)?exports$")) @definition.function

; --- inheritance ---------------------------------------------------------------
; `extends B<T>` gives the base `B`; `implements I, ns.J` gives `I` and `ns.J`.

([(class_declaration
    name: (_) @name
    (class_heritage
      (extends_clause
        value: (_) @base)))
  (abstract_class_declaration
    name: (_) @name
    (class_heritage
      (extends_clause
        value: (_) @base)))
  (class
    name: (_) @name
    (class_heritage
      (extends_clause
        value: (_) @base)))] @inheritance)

([(class_declaration
    name: (_) @name
    (class_heritage
      (implements_clause
        [(type_identifier) @base (nested_type_identifier) @base (generic_type name: (_) @base)])))
  (abstract_class_declaration
    name: (_) @name
    (class_heritage
      (implements_clause
        [(type_identifier) @base (nested_type_identifier) @base (generic_type name: (_) @base)])))] @inheritance)

(interface_declaration
  name: (_) @name
  (extends_type_clause
    type: [(type_identifier) @base
           (nested_type_identifier) @base
           (generic_type name: (_) @base)])) @inheritance

(variable_declarator
  name: (identifier) @name
  value: (class !name
           (class_heritage
             (extends_clause
               value: (_) @base)))) @inheritance

; --- imports -------------------------------------------------------------------

; `import "./x"` and every other import: the source alone.
(import_statement
  source: (string) @import.source) @import

; `import d from`, `import { a, b as c } from` (names are the exported ones).
(import_statement
  (import_clause
    [(identifier) @import.name
     (named_imports (import_specifier name: (_) @import.name))])
  source: (string) @import.source) @import

; `import fs = require("fs")`.
(import_statement
  (import_require_clause
    source: (string) @import.source)) @import

; `export { a } from "./x"`, `export * from "./x"`.
(export_statement
  source: (string) @import.source) @import

(export_statement
  (export_clause (export_specifier name: (_) @import.name))
  source: (string) @import.source) @import

(export_statement
  "*" @import.name
  source: (string) @import.source) @import

; `require("./x")` and `import("./x")`.
((call_expression
   function: (identifier) @_require
   arguments: (arguments . (string) @import.source))
  (#eq? @_require "require")) @import

(call_expression
  function: (import)
  arguments: (arguments . (string) @import.source)) @import

; --- calls ---------------------------------------------------------------------

((call_expression
   function: (identifier) @name)
  (#not-eq? @name "require")) @reference.call

(call_expression
  function: (member_expression
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call

(new_expression
  constructor: [(identifier) @name
                (member_expression property: (property_identifier) @name)]) @reference.call

; Decorators are calls: `@observable`, `@Component({...})`.
; (`@Component({...})` is matched as a call expression above.)
(decorator
  [(identifier) @name
   (member_expression property: (property_identifier) @name)]) @reference.call
