// Validates every object of a rendered manifest (`kubectl kustomize deploy/k8s`) against the
// Kubernetes API's OpenAPI schemas, as kubernetes-models ships them (checked with ajv): types,
// required fields, enums and formats, object by object. Exit 1 naming each invalid object.
//   node validate.js NODE_MODULES_DIR MANIFEST.yaml
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, manifest] = process.argv.slice(2);
if (!modules || !manifest) {
  console.error("usage: node validate.js NODE_MODULES_DIR MANIFEST.yaml");
  process.exit(2);
}
const YAML = require(path.join(modules, "yaml"));

let failures = 0;
let checked = 0;
for (const doc of YAML.parseAllDocuments(fs.readFileSync(manifest, "utf8"))) {
  if (doc.errors.length > 0) {
    console.error(`YAML: ${doc.errors[0].message}`);
    failures++;
    continue;
  }
  const object = doc.toJSON();
  if (object === null) continue;
  const name = `${object.kind} ${object.metadata && object.metadata.name}`;
  const [group, version] = String(object.apiVersion).includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const modulePath = path.join(modules, "kubernetes-models", group, version, object.kind);
  let Model;
  try {
    Model = require(modulePath)[object.kind];
  } catch (e) {
    console.error(`${name}: no schema for ${object.apiVersion} ${object.kind}`);
    failures++;
    continue;
  }
  try {
    new Model(object).validate();
    checked++;
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    failures++;
  }
}
if (failures > 0) process.exit(1);
if (checked === 0) {
  console.error("no objects to validate");
  process.exit(1);
}
console.log(`${checked} objects valid`);
