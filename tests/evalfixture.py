"""A tiny evaluation set made by the tests: a shop project with history and five issues.

Each issue is written the way users write them (behaviour, a traceback, a call) and its gold
files are what a fix would change. One instance sits on a side branch, so the run must fall
back from incremental to a full index; one has only a patch, so gold is derived from it.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from tests.gitfixture import GitFixture

CART = '''"""The shopping cart."""

from shop.pricing import apply_discount


class Cart:
    """Items a customer is about to buy."""

    def __init__(self):
        self.items = []

    def add_item(self, sku, quantity=1):
        """Put `quantity` of `sku` in the cart."""
        self.items.append((sku, quantity))

    def total(self, prices):
        """The sum of the prices of all items."""
        return sum(prices[sku] * quantity for sku, quantity in self.items)
'''

PRICING = '''"""Prices, discounts and rounding to cents."""


def apply_discount(amount, percent):
    """Reduce `amount` by `percent` percent."""
    return amount - amount * percent / 100


def round_price(amount):
    """Round a price to whole cents."""
    return int(amount * 100) / 100
'''

INVENTORY = '''"""Stock levels in the warehouse."""


class OutOfStock(Exception):
    """Raised when more items are reserved than the warehouse holds."""


class Stock:
    """How many of each item the warehouse holds."""

    def __init__(self, levels):
        self.levels = dict(levels)

    def reserve(self, sku, quantity):
        """Take `quantity` of `sku` out of stock for an order."""
        self.levels[sku] = self.levels.get(sku, 0) - quantity
'''

EMAILS = '''"""Emails sent to customers."""


def send_receipt(order, mailer):
    """Email the receipt of `order` to its customer."""
    lines = [f"{sku} x{quantity}" for sku, quantity in order["items"]]
    mailer.send(order["customer"]["email"], "Your receipt", "\\n".join(lines))
'''

CLI = '''"""The shop's command line."""

import argparse


def parse_args(argv):
    """Read the command line options."""
    parser = argparse.ArgumentParser(prog="shop")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the shop from the command line."""
    options = parse_args(argv)
    print("shop ready")
    return 0
'''

TESTS = '''from shop.cart import Cart


def test_total():
    cart = Cart()
    cart.add_item("apple", 2)
    assert cart.total({"apple": 1.5}) == 3.0
'''

ISSUES = {
    "cart": "Cart.total ignores discounts\n\nWhen a customer has a discount code, `Cart.total()`"
            " still returns the full price. The cart should apply the discount to the total.",
    "emails": "Crash when sending a receipt to a customer without an email address\n\n"
              "```\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n"
              "  File \"/srv/shop/shop/emails.py\", line 7, in send_receipt\n"
              "KeyError: 'email'\n```",
    "rounding": "Prices are rounded down instead of to the nearest cent\n\n"
                "round_price(2.675) gives 2.67; rounding to cents should round half up.",
    "stock": "Reserving more items than the warehouse holds does not raise OutOfStock\n\n"
             "Stock levels go negative instead; reserve should refuse the order.",
    "verbose": "The --verbose option of the command line does nothing\n\n"
               "Running the shop with --verbose prints the same as without it.",
}

VERBOSE_PATCH = '''diff --git a/shop/cli.py b/shop/cli.py
--- a/shop/cli.py
+++ b/shop/cli.py
@@ -14,5 +14,7 @@ def main(argv=None):
     """Run the shop from the command line."""
     options = parse_args(argv)
+    if options.verbose:
+        print("verbose output on")
     print("shop ready")
     return 0
'''


def build_eval_repo(path: Path) -> dict[str, str]:
    """Create the shop repository; return its commits by name."""
    repo = GitFixture(path)
    shas = {"initial": repo.commit("Initial shop", {
        "shop/__init__.py": "", "shop/cart.py": CART, "shop/pricing.py": PRICING,
        "shop/inventory.py": INVENTORY, "tests/test_cart.py": TESTS,
        "README.md": "# shop\n\nA tiny shop.\n",
    })}
    shas["emails"] = repo.commit("Send receipts by email", {"shop/emails.py": EMAILS})
    repo.git("checkout", "-q", "-b", "cli-branch")
    shas["cli"] = repo.commit("Add a command line", {"shop/cli.py": CLI}, author="bob")
    repo.git("checkout", "-q", "main")
    shas["stock"] = repo.commit("Document stock levels", {
        "README.md": "# shop\n\nA tiny shop with stock levels.\n",
    })
    return shas


def eval_rows(shas: dict[str, str], slug: str = "acme/shop") -> list[dict[str, Any]]:
    """The five instances, as JSONL rows shaped like the shared eval data."""
    def row(name: str, commit: str, **gold: Any) -> dict[str, Any]:
        return {"instance_id": f"acme__shop-{name}", "repo": slug, "base_commit": shas[commit],
                "problem_statement": ISSUES[name], **gold}

    return [
        row("cart", "initial", gold_files=["shop/cart.py"],
            gold_spans={"shop/cart.py": ["Cart.total"]}),
        row("emails", "emails", gold_files=["shop/emails.py"],
            gold_spans={"shop/emails.py": ["send_receipt"]}),
        row("rounding", "emails", gold_files=["shop/pricing.py"],
            gold_spans={"shop/pricing.py": ["imports", "round_price"]}),
        row("stock", "stock", gold_files=["shop/inventory.py"],
            gold_spans={"shop/inventory.py": ["Stock.reserve"]}),
        row("verbose", "cli", patch=VERBOSE_PATCH),
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    """Write rows (objects, or raw lines for malformed input) as JSONL."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def cart_diff() -> str:
    """A small, valid change to shop/cart.py as the eval fixture writes it."""
    before = CART.splitlines(keepends=True)
    after = [line.replace("return sum(", "return self.discounted(sum(") if "return sum(" in line
             else line for line in before]
    after = [line.rstrip("\n") + ")\n" if "self.discounted(" in line else line for line in after]
    return "".join(difflib.unified_diff(before, after, "a/shop/cart.py", "b/shop/cart.py"))
