"""Issue texts that several tests file."""
from __future__ import annotations

THREE_TASKS = """\
Please add three things.

- [ ] Write a.txt
  paths: a.txt
  ```sh
  echo alpha > a.txt
  ```
- [ ] Write b.txt, which builds on a.txt
  paths: b.txt
  ```sh
  test -f a.txt
  cat a.txt > b.txt && echo beta >> b.txt
  ```
- [ ] (parallel) Write c.txt
  paths: c.txt
  ```sh
  echo gamma > c.txt
  ```
"""
