# A thin shim over invoke (tasks.py): `make` brings the stack up.
VENV := .venv
INVOKE := $(VENV)/bin/invoke

.PHONY: all up down status test clean fclean re

all: up

$(INVOKE): requirements.txt
	python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet --upgrade pip && $(VENV)/bin/pip install --quiet -r requirements.txt && touch $(INVOKE)

up: $(INVOKE)
	$(INVOKE) up

down: $(INVOKE)
	$(INVOKE) down

status: $(INVOKE)
	$(INVOKE) status

test: $(INVOKE)
	$(INVOKE) test

clean: $(INVOKE)
	$(INVOKE) clean

fclean: $(INVOKE)
	$(INVOKE) clean --all --yes

re: fclean up
