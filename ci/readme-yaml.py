"""Checks the README's GitHub Actions job: valid YAML, on ubuntu-24.04, with the AppArmor step.

Usage: python3 ci/readme-yaml.py [README.md]   (needs PyYAML: apt-get install python3-yaml)
"""
import re
import sys

import yaml

readme = open(sys.argv[1] if len(sys.argv) > 1 else "README.md", encoding="utf-8").read()
blocks = re.findall(r"^```yaml\n(.*?)^```", readme, re.S | re.M)
assert blocks, "no ```yaml block in the README"
for block in blocks:
    doc = yaml.safe_load(block)
    jobs = doc["jobs"]
    for name, job in jobs.items():
        assert job["runs-on"] == "ubuntu-24.04", f"{name}: runs-on {job['runs-on']}"
        runs = [s.get("run", "") for s in job["steps"]]
        assert any("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in r for r in runs), f"{name}: no AppArmor step"
        assert any("cargo test" in r for r in runs), f"{name}: no cargo test step"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: a step needs exactly one of uses/run: {step}"
print(f"readme-yaml: {len(blocks)} GitHub Actions block(s) parse and run the netns tests on ubuntu-24.04")
