"""Import resolution across languages, on a real repository made by the test."""

from __future__ import annotations

from pathlib import Path

from indexer.build import Indexer
from navbot.core.config import Settings
from tests.gitfixture import GitFixture

FILES = {
    "web/app.js": "import { helper } from './util';\nconst x = require('./lib/index');\n"
                  "helper();\n",
    "web/util.ts": "export function helper() { return 1; }\n",
    "web/lib/index.js": "module.exports = {};\n",
    "go.mod": "module example.com/demo\n",
    "cmd/main.go": 'package main\n\nimport "example.com/demo/pkg/store"\n\n'
                   "func main() { store.Open() }\n",
    "pkg/store/store.go": "package store\n\nfunc Open() {}\n",
    "src/main/java/org/demo/App.java": "package org.demo;\nimport org.demo.util.Helper;\n"
                                       "class App { void run() { Helper.go(); } }\n",
    "src/main/java/org/demo/util/Helper.java": "package org.demo.util;\n"
                                               "public class Helper { static void go() {} }\n",
    "native/main.c": '#include "util.h"\nint main(void) { return util(); }\n',
    "native/util.h": "int util(void);\n",
    "ruby/app.rb": "require_relative 'helper'\nHelper.new.run\n",
    "ruby/helper.rb": "class Helper\n  def run; end\nend\n",
    "crate/src/lib.rs": "mod parser;\nuse crate::parser::parse;\npub fn go() { parse(); }\n",
    "crate/src/parser.rs": "pub fn parse() {}\n",
}


def test_imports_resolve_to_repository_files(settings: Settings, tmp_path: Path) -> None:
    repo = GitFixture(tmp_path / "poly")
    repo.commit("many languages", FILES)
    graph = Indexer(settings).index(repo.path).graph
    imports = {(u.removeprefix("file:"), v.removeprefix("file:"))
               for u, v, kind, _ in graph.edges if kind == "imports"}
    assert imports >= {
        ("web/app.js", "web/util.ts"),
        ("web/app.js", "web/lib/index.js"),
        ("cmd/main.go", "pkg/store/store.go"),
        ("src/main/java/org/demo/App.java", "src/main/java/org/demo/util/Helper.java"),
        ("native/main.c", "native/util.h"),
        ("ruby/app.rb", "ruby/helper.rb"),
        ("crate/src/lib.rs", "crate/src/parser.rs"),
    }
    calls = {(u, v) for u, v, kind, _ in graph.edges if kind == "calls"}
    assert ("sym:cmd/main.go::main", "sym:pkg/store/store.go::Open") in calls
    assert ("sym:crate/src/lib.rs::go", "sym:crate/src/parser.rs::parse") in calls
