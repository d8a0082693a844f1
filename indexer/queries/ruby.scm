; Ruby tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading # comments, found by the extractor.

; --- definitions -------------------------------------------------------------

; `class Square` and `class Shapes::Square` (named Square).
(class
  name: [(constant) @name
         (scope_resolution name: (_) @name)]) @definition.class

(module
  name: [(constant) @name
         (scope_resolution name: (_) @name)]) @definition.module

; `def area` and `def self.unit`; inside a class or module they are methods.
(method
  name: (_) @name) @definition.function

(singleton_method
  name: (_) @name) @definition.function

; --- inheritance ---------------------------------------------------------------

; `class Square < Geometry::Base`.
(class
  name: [(constant) @name
         (scope_resolution name: (_) @name)]
  superclass: (superclass
    [(constant) (scope_resolution)] @base)) @inheritance

; Mixins: `include Comparable` / `prepend Logging` directly in a class or module body.
((class
   name: [(constant) @name
          (scope_resolution name: (_) @name)]
   body: (body_statement
     (call
       method: (identifier) @_include
       arguments: (argument_list [(constant) (scope_resolution)] @base))))
  (#any-of? @_include "include" "prepend")) @inheritance

((module
   name: [(constant) @name
          (scope_resolution name: (_) @name)]
   body: (body_statement
     (call
       method: (identifier) @_include
       arguments: (argument_list [(constant) (scope_resolution)] @base))))
  (#any-of? @_include "include" "prepend")) @inheritance

; --- imports -------------------------------------------------------------------

; `require "json"`, `require_relative "geometry/base"` (a plain string argument only).
((call
   !receiver
   method: (identifier) @_require
   arguments: (argument_list . (string . (string_content) @import.source .) .))
  (#any-of? @_require "require" "require_relative")) @import

; --- calls ---------------------------------------------------------------------
; `foo(1)`, `obj.foo`, `Foo.new`; a bare `foo` cannot be told from a local variable.

((call
   method: (identifier) @name)
  (#not-match? @name "^require(_relative)?$")) @reference.call
