; Java tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /** */ or // comments, found by the extractor.

; --- definitions -------------------------------------------------------------

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

; Methods, constructors (named after their class) and annotation elements; all of them are
; inside a type, so they become methods.
(method_declaration
  name: (identifier) @name) @definition.function

(constructor_declaration
  name: (identifier) @name) @definition.function

(compact_constructor_declaration
  name: (identifier) @name) @definition.function

(annotation_type_element_declaration
  name: (identifier) @name) @definition.function

; --- inheritance ---------------------------------------------------------------
; `extends Base<T>` gives `Base`; qualified names stay qualified (`java.io.Serializable`).

(class_declaration
  name: (identifier) @name
  superclass: (superclass
    [(type_identifier) @base
     (scoped_type_identifier) @base
     (generic_type [(type_identifier) (scoped_type_identifier)] @base)])) @inheritance

([(class_declaration
    name: (identifier) @name
    interfaces: (super_interfaces
      (type_list
        [(type_identifier) @base
         (scoped_type_identifier) @base
         (generic_type [(type_identifier) (scoped_type_identifier)] @base)])))
  (record_declaration
    name: (identifier) @name
    interfaces: (super_interfaces
      (type_list
        [(type_identifier) @base
         (scoped_type_identifier) @base
         (generic_type [(type_identifier) (scoped_type_identifier)] @base)])))
  (enum_declaration
    name: (identifier) @name
    interfaces: (super_interfaces
      (type_list
        [(type_identifier) @base
         (scoped_type_identifier) @base
         (generic_type [(type_identifier) (scoped_type_identifier)] @base)])))
  (interface_declaration
    name: (identifier) @name
    (extends_interfaces
      (type_list
        [(type_identifier) @base
         (scoped_type_identifier) @base
         (generic_type [(type_identifier) (scoped_type_identifier)] @base)])))] @inheritance)

; --- imports -------------------------------------------------------------------
; `import com.foo.Bar;` -> `com.foo.Bar`; `import static com.foo.Bar.*;` -> `com.foo.Bar.*`.

(import_declaration
  [(identifier) (scoped_identifier)] @import.source
  (asterisk)? @import.source) @import

; --- calls ---------------------------------------------------------------------

(method_invocation
  name: (identifier) @name) @reference.call

; `new Foo()`, `new Outer.Inner()`, `new ArrayList<>()` call the constructor of the type.
(object_creation_expression
  type: [(type_identifier) @name
         (scoped_type_identifier (type_identifier) @name .)
         (generic_type [(type_identifier) @name
                        (scoped_type_identifier (type_identifier) @name .)])]) @reference.call
