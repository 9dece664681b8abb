# lander: build, test and run. Every target installs what it needs through the
# project's own idempotent scripts, so a fresh machine needs no manual step.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
ADDR ?= :8080

.PHONY: all setup ort models services browser build test test-go test-python test-api test-race chaos bench run fuzz vet clean

all: build

## setup: install the ONNX Runtime library and export the models (idempotent).
setup: ort models

ort:
	@scripts/setup-ort.sh

models:
	@scripts/models.sh

## services: install Redis and the Milvus Lite server for the tests.
services:
	@scripts/setup-services.sh

## browser: install headless Chromium for the browser tests of the pages.
browser:
	@scripts/setup-browser.sh

## build: build bin/lander and set up what it needs to run from the repository root.
build: setup
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/lander ./cmd/lander

vet:
	$(GO) vet ./...

## test: unit, contract and integration tests against a real Redis and Milvus Lite.
test: setup services browser vet test-python test-go test-race test-api

test-go:
	LANDER_REQUIRE_MODELS=1 LANDER_REQUIRE_SERVICES=1 LANDER_REQUIRE_BROWSER=1 scripts/with-services.sh $(GO) test -count=1 ./...

## test-race: the race detector over the concurrent packages.
test-race:
	LANDER_REQUIRE_MODELS=1 LANDER_REQUIRE_SERVICES=1 scripts/with-services.sh $(GO) test -race -count=1 ./server/... ./store/... ./cache/... ./datadir/... ./indexer/...

## chaos: the fault scripts of scripts/chaos (kills, outages, a full disk, corruption) on the demo catalog.
chaos: build services
	@scripts/chaos/all.sh

test-python: models
	@scripts/test-python.sh

## test-api: schemathesis (--checks all) against the served demo index, with and without the token.
test-api: setup
	@scripts/test-api.sh

## bench: the Go benchmarks (noisy on 2 cores: compare side by side).
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: a short run of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
	  done; \
	done

## run: install what is missing, build, index the demo catalog and serve it on :8080.
run: build
	bin/lander demo --addr $(ADDR)

clean:
	rm -rf bin

## train: retrain the dual encoder on the development catalog into encoder/weights
## (Go writes the training set, PyTorch trains, exports and runs its tests). The
## committed model came from these four chained runs (5 + 4 + 4 + 5 epochs, each a
## fresh warm-up and cosine schedule; --max-minutes caps each on a slow machine).
.PHONY: train
TRAIN_CATALOG ?= ../shared/data/fashion-small
TRAIN_WORK ?= .tools/trainset
TRAIN_VENV ?= .tools/train-venv
TRAIN_PY = cd encoder/train && PYTHONPATH=. nice -n 5 $(abspath $(TRAIN_VENV))/bin/python
train: build
	@test -x $(TRAIN_VENV)/bin/python || { python3 -m venv $(TRAIN_VENV) && \
	  $(TRAIN_VENV)/bin/pip install -q -r encoder/train/requirements-train.txt; }
	bin/lander export trainset --catalog $(TRAIN_CATALOG) --out $(TRAIN_WORK)
	$(TRAIN_PY) -m dualenc.train --data $(abspath $(TRAIN_WORK)) --work $(abspath $(TRAIN_WORK))/run1 \
	  --out $(abspath $(TRAIN_WORK))/out1 --epochs 5 --lr 3e-3 --text-dropout 0.4 --max-minutes 36
	$(TRAIN_PY) -m dualenc.train --data $(abspath $(TRAIN_WORK)) --work $(abspath $(TRAIN_WORK))/run2 \
	  --out $(abspath $(TRAIN_WORK))/out2 --init $(abspath $(TRAIN_WORK))/run1/checkpoint.pt \
	  --epochs 4 --lr 2e-3 --text-dropout 0.3 --max-minutes 24
	$(TRAIN_PY) -m dualenc.train --data $(abspath $(TRAIN_WORK)) --work $(abspath $(TRAIN_WORK))/run3 \
	  --out $(abspath $(TRAIN_WORK))/out3 --init $(abspath $(TRAIN_WORK))/run2/checkpoint.pt \
	  --epochs 4 --lr 1.5e-3 --text-dropout 0.3 --max-minutes 14
	$(TRAIN_PY) -m dualenc.train --data $(abspath $(TRAIN_WORK)) --work $(abspath $(TRAIN_WORK))/run4 \
	  --out $(abspath encoder/weights) --init $(abspath $(TRAIN_WORK))/run3/checkpoint.pt \
	  --epochs 5 --lr 1.5e-3 --text-dropout 0.3 --max-minutes 10
	$(MAKE) train-colour
	$(TRAIN_PY) -m unittest dualenc.tests.test_dualenc

## train-colour: retrain the colour net (an ensemble of nets, one per seed of
## COLOUR_SEEDS, each the image trunk of encoder/weights with a colour head,
## 24 epochs, about 21 minutes on 2 cores) into encoder/weights, with its
## golden file; then refit the calibration over it: lander eval attributes
## --split validation --fit DIR (see README).
COLOUR_SEEDS ?= 17 18
comma := ,
empty :=
space := $(empty) $(empty)
COLOUR_RUNS = $(subst $(space),$(comma),$(foreach s,$(COLOUR_SEEDS),$(abspath $(TRAIN_WORK))/colour-s$(s)))
.PHONY: train-colour
train-colour: build
	@test -x $(TRAIN_VENV)/bin/python || { python3 -m venv $(TRAIN_VENV) && \
	  $(TRAIN_VENV)/bin/pip install -q -r encoder/train/requirements-train.txt; }
	test -f $(TRAIN_WORK)/trainset.parquet || bin/lander export trainset --catalog $(TRAIN_CATALOG) --out $(TRAIN_WORK)
	for seed in $(COLOUR_SEEDS); do \
	  ( $(TRAIN_PY) -m dualenc.colour --data $(abspath $(TRAIN_WORK)) --weights $(abspath encoder/weights) \
	    --out $(abspath $(TRAIN_WORK))/colour-s$$seed --epochs 24 --lr 3e-3 --trunk-lr 1e-3 --heads 8 --seed $$seed ) || exit 1; \
	done
	$(TRAIN_PY) -m dualenc.colour --data $(abspath $(TRAIN_WORK)) --weights $(abspath encoder/weights) \
	  --out $(abspath $(TRAIN_WORK))/colour \
	  --ensemble $(COLOUR_RUNS) \
	  --golden $(abspath encoder/testdata/golden_dual.json)
	cp $(TRAIN_WORK)/colour/colour.onnx $(TRAIN_WORK)/colour/colour.json $(TRAIN_WORK)/colour/colour-report.json encoder/weights/
	cp $(TRAIN_WORK)/colour/golden_colour.json encoder/testdata/
	$(TRAIN_PY) -m unittest dualenc.tests.test_colour
