// Tests of scripts/check-schemas.mjs: broken templates must fail with a clear
// problem, and what CDK writes (intrinsics, tags, nested types) must pass.
// Run: node --test scripts/check-schemas.test.mjs (scripts/check-infra.sh does).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTemplate, loadSpec } from './check-schemas.mjs';

const spec = loadSpec();

const logGroup = (properties, extra = {}) => ({ Resources: { Logs: { Type: 'AWS::Logs::LogGroup', Properties: properties, ...extra } } });
const taskDefinition = (container) => ({
  Resources: {
    Task: {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: { Family: 'f', Cpu: '256', Memory: '512', RequiresCompatibilities: ['FARGATE'], ContainerDefinitions: [container] },
    },
  },
});

test('a valid template with intrinsics, tags and nested types passes', () => {
  const ok = logGroup({
    LogGroupName: { 'Fn::Join': ['', ['/tally/', { Ref: 'AWS::Region' }]] },
    RetentionInDays: 30,
    Tags: [{ Key: 'project', Value: 'tally-uptime' }],
  }, { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  assert.deepEqual(checkTemplate(spec, ok), []);
  const task = taskDefinition({ Name: 'uptime-job', Image: { 'Fn::Sub': '${AWS::AccountId}.dkr.ecr' }, Essential: true, ReadonlyRootFilesystem: true });
  assert.deepEqual(checkTemplate(spec, task), []);
});

test('an unknown property fails', () => {
  assert.deepEqual(checkTemplate(spec, logGroup({ RetentionInDay: 30 })),
    ['Resources.Logs.Properties.RetentionInDay: AWS::Logs::LogGroup has no property RetentionInDay']);
});

test('an unknown field of a nested type fails', () => {
  const problems = checkTemplate(spec, taskDefinition({ Name: 'uptime-job', Image: 'x', Essentail: true }));
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^Resources\.Task\.Properties\.ContainerDefinitions\[0\]\.Essentail: \S+ has no property Essentail$/);
});

test('a value of the wrong type fails', () => {
  assert.deepEqual(checkTemplate(spec, logGroup({ RetentionInDays: 'thirty' })),
    ['Resources.Logs.Properties.RetentionInDays: want an integer, got "thirty"']);
  assert.deepEqual(checkTemplate(spec, taskDefinition({ Name: 'uptime-job', Image: 'x', Essential: 'yes' })),
    ['Resources.Task.Properties.ContainerDefinitions[0].Essential: want a boolean, got "yes"']);
  assert.deepEqual(checkTemplate(spec, logGroup({ Tags: { project: 'x' } })),
    ['Resources.Logs.Properties.Tags: want an array, got {"project":"x"}']);
});

test('a missing required property fails', () => {
  const problems = checkTemplate(spec, taskDefinition({ Name: 'uptime-job' }));
  assert.deepEqual(problems, ['Resources.Task.Properties.ContainerDefinitions[0]: ContainerDefinition needs the property Image']);
});

test('an unknown resource type, attribute or policy fails', () => {
  const problems = checkTemplate(spec, {
    Resources: {
      A: { Type: 'AWS::Logs::LogGroupp' },
      B: { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'Keep', Propertes: {} },
      C: { Type: 'Custom::Anything', Properties: { Whatever: 1 } },
    },
  });
  assert.deepEqual(problems.sort(), [
    'Resources.A.Type: AWS::Logs::LogGroupp is not a CloudFormation resource type',
    'Resources.B.DeletionPolicy: "Keep" is not Delete, Retain, RetainExceptOnCreate or Snapshot',
    'Resources.B.Propertes: not a CloudFormation resource attribute',
  ]);
});
