; JavaScript tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /** */ or // comments, found by the extractor.

; --- definitions -------------------------------------------------------------

(class_declaration
  name: (identifier) @name) @definition.class

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

; A named class expression: `module.exports = class Shape {}`.
(class
  name: (identifier) @name) @definition.class

; Methods, getters and setters (in classes and object literals).
(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.function

; Class fields holding a function: `onClick = (e) => {...}`.
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
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

(class_declaration
  name: (identifier) @name
  (class_heritage (_) @base)) @inheritance

(class
  name: (identifier) @name
  (class_heritage (_) @base)) @inheritance

(variable_declarator
  name: (identifier) @name
  value: (class !name (class_heritage (_) @base))) @inheritance

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

; JSX elements are calls of their (capitalized) component: `<Button />`, `<UI.Button>`.
((jsx_opening_element
   name: [(identifier) @name
          (member_expression property: (property_identifier) @name)])
  (#match? @name "^[A-Z]")) @reference.call

((jsx_self_closing_element
   name: [(identifier) @name
          (member_expression property: (property_identifier) @name)])
  (#match? @name "^[A-Z]")) @reference.call
