# Records the cases of a Logstash plugin spec file (RSpec) as data, without Logstash.
#
# Usage: ruby record_rspec.rb SPEC_FILE [SPEC_HELPER_KIND] > cases.json
#
# A tiny stand-in for RSpec runs the spec's example groups. Nothing is matched
# here: the grok filter and the events are recorders. Each example yields the
# inputs it builds (event data, filter options, ecs_compatibility) and each
# expectation it states (what it reads from the result, the matcher and its
# arguments), written out as JSON. The conformance tests replay them against
# logpipe (tests/conformance/test_patterns_core.py and test_grok.py).
require "json"

$examples = []
$shared = {}
$current = nil

# --- values read from a filtered event ---------------------------------------------
class Rec
  attr_reader :source, :ops

  def initialize(source, ops = [])
    @source = source
    @ops = ops
  end

  def with(*op) = Rec.new(@source, @ops + [op])
  def [](key) = with("get", key)
  def get(path) = with("path", path)
  def keys = with("keys")
  def last = with("last")
  def first = with("first")
  def to_s = with("to_s")
  def to_i = with("to_i")
  def to_f = with("to_f")
  def to_hash = self
  def to_h = self
  def dig(*keys) = keys.reduce(self) { |r, k| r[k] }
  def include?(key) = with("has", key)
  def to_json(*a) = { "__actual__" => { "source" => @source, "ops" => @ops } }.to_json(*a)
end

# A source is "run these filters over this event data"; the filters are known
# only once filter() has been called, so the event collects them.
class FakeEvent
  attr_reader :data, :filters

  def initialize(data = {})
    @data = data
    @filters = []
  end

  def source = { "data" => @data, "filters" => @filters }
  def get(path) = Rec.new(source).get(path)
  def [](key) = Rec.new(source)[key]
  def to_hash = Rec.new(source)
  def to_h = to_hash
  def include?(key) = Rec.new(source).include?(key)
  def set(key, value) = @data[key] = value
  # The event itself as the thing expected (Event#include? ignores nil fields).
  def to_json(*a) = { "__actual__" => { "source" => source, "ops" => [["event"]] } }.to_json(*a)
end

class FakeGrok
  attr_reader :options

  def initialize(options = {})
    @options = options
  end

  def register = self
  def do_close = nil

  def filter(event)
    mode = @options["ecs_compatibility"]
    if mode.nil? && $current.respond_to?(:ecs_compatibility)
      mode = $current.ecs_compatibility
    end
    event.filters << { "options" => @options.reject { |k, _| k == "ecs_compatibility" },
                       "ecs_compatibility" => mode&.to_s }
    event
  end
end

module LogStash
  module Filters
    Grok = FakeGrok
  end
  Event = FakeEvent
  module Environment; end
end

class Matcher
  def initialize(name, *args)
    @name = name
    @args = args
  end

  def to_json(*a) = { "matcher" => @name, "args" => @args }.to_json(*a)
  def and(other) = Matcher.new("all", self, other)
end

class Partial
  def initialize(hash) = @hash = hash
  def to_json(*a) = { "__partial__" => @hash }.to_json(*a)
end

class Unsupported < StandardError; end
class Pending < StandardError; end

class Expectation
  def initialize(actual) = @actual = actual

  def to(matcher = nil, _message = nil)
    raise Unsupported, "expect without matcher" if matcher.nil?
    $current.__record(@actual, matcher, false)
  end

  def not_to(matcher = nil, _message = nil)
    raise Unsupported, "expect without matcher" if matcher.nil?
    $current.__record(@actual, matcher, true)
  end
  alias to_not not_to
end

class Stub
  def method_missing(*) = self
  def respond_to_missing?(*) = true
end

# --- example groups ------------------------------------------------------------------
class Group
  class << self
    attr_accessor :description

    def full_description = [superclass.respond_to?(:full_description) ? superclass.full_description : nil, description].compact.join(" ").strip

    def describe(desc = nil, *_meta, &block)
      klass = Class.new(self)
      klass.description = desc.equal?(FakeGrok) ? "grok" : desc.to_s
      klass.class_exec(&block) if block
      klass
    end
    alias context describe
    alias example_group describe

    # The body becomes a method of its own, so `super()` inside a let reaches
    # the enclosing group's definition, as in RSpec.
    def let(name, &block)
      raw = :"__let_#{name}"
      define_method(raw, &block)
      define_method(name) do
        @__memo ||= {}
        return @__memo[name] if @__memo.key?(name)
        @__memo[name] = send(raw)
      end
    end
    alias let! let

    def subject(name = nil, &block)
      let(:subject, &block)
      define_method(name) { subject } if name
    end

    def befores = (superclass.respond_to?(:befores) ? superclass.befores : []) + (@befores || [])

    def before(*_scope, &block)
      (@befores ||= []) << block
    end

    def after(*_scope, &_block) = nil

    def it(desc = nil, *_meta, &block)
      $examples << [self, desc.to_s, block]
    end
    alias specify it
    alias example it

    def xit(*) = nil
    def pending(*) = nil

    # logstash-devutils' older DSL (a config string and sample events): not replayed;
    # the few cases written that way are kept by hand in the data files.
    def config(*) = nil

    def sample(*_args, &_block)
      $examples << [self, "sample", proc { raise Unsupported, "devutils sample DSL" }]
    end

    def shared_examples_for(name, &block)
      $shared[name] = block
    end
    alias shared_examples shared_examples_for

    def include_examples(name, *args)
      block = $shared.fetch(name)
      class_exec(*args, &block)
    end
    alias it_behaves_like include_examples

    def described_class = FakeGrok

    # logstash-plugin_mixins-ecs_compatibility_support: one context per mode.
    def ecs_compatibility_matrix(*modes, &block)
      selected = modes.flat_map { |m| m.is_a?(Hash) ? m.keys : [m] }
      aliases = modes.select { |m| m.is_a?(Hash) }.reduce({}, :merge)
      selected.each do |mode|
        selector = EcsSelect.new(aliases.fetch(mode, mode))
        describe("ecs_compatibility => #{mode}") do
          define_method(:ecs_compatibility) { mode }
          class_exec(selector, &block)
        end
      end
    end
  end

  def described_class = FakeGrok
  def pattern_mode = nil

  # RSpec's implicit subject: the first argument of the innermost group.
  def subject = self.class.description

  def should(matcher = nil) = expect(subject).to(matcher)
  def should_not(matcher = nil) = expect(subject).not_to(matcher)
  def is_expected = expect(subject)
  def pending(*) = raise(Pending)
  def ecs_compatibility? = ecs_compatibility.nil? ? nil : ecs_compatibility != :disabled

  def ecs_compatibility
    case pattern_mode
    when "legacy" then :disabled
    when "ecs-v1" then :v1
    end
  end

  def expect(actual = nil, &block)
    raise Unsupported, "block expectation" if block
    Expectation.new(actual)
  end

  def allow_any_instance_of(*) = Stub.new
  def allow(*) = Stub.new
  def double(*) = Stub.new
  def receive(*) = Stub.new

  def include(*args) = Matcher.new("include", *args)
  def eq(value) = Matcher.new("eq", value)
  alias eql eq
  alias equal eq
  def be(value = :__none__) = value == :__none__ ? Matcher.new("truthy") : Matcher.new("eq", value)
  def be_nil = Matcher.new("eq", nil)
  def be_truthy = Matcher.new("truthy")
  def be_falsey = Matcher.new("falsey")
  def be_empty = Matcher.new("empty")
  def be_a(klass) = Matcher.new("kind", klass.name)
  alias be_an be_a
  alias be_kind_of be_a
  def start_with(value) = Matcher.new("start_with", value)
  def end_with(value) = Matcher.new("end_with", value)
  def contain_exactly(*values) = Matcher.new("contain_exactly", *values)
  def match_array(values) = Matcher.new("contain_exactly", *values)
  def hash_including(hash = {}, **kw) = Partial.new(hash.merge(kw.transform_keys(&:to_s)))
  alias a_hash_including hash_including
  def pass = Matcher.new("pass")
  def have_key(key) = Matcher.new("have_key", key)
  def match(value) = value.is_a?(Regexp) ? Matcher.new("regexp", value.source) : Matcher.new("pattern_matches", value, ecs_compatibility&.to_s)
  def fail(message = nil) = raise(Unsupported, "fail: #{message}")

  # logstash-patterns-core's spec helper
  def grok_match(label, message, exact_match = false) = grok_match_event(label, message, exact_match).to_hash

  def grok_match_event(label, message, exact_match = false)
    event = build_event(message)
    build_grok(label, exact_match).filter(event)
    event
  end

  def grok_exact_match(label, message) = grok_match(label, message, true)

  def build_grok(label, exact_match = false)
    FakeGrok.new("match" => ["message", exact_match ? "^%{#{label}}$" : "%{#{label}}"])
  end

  def build_event(message) = FakeEvent.new("message" => message)

  def __record(actual, matcher, negated)
    @__expectations << { "actual" => actual, "expect" => matcher, "negated" => negated }
  end

  def __run(block)
    @__expectations = []
    self.class.befores.each { |b| instance_exec(&b) }
    instance_exec(&block)
    @__expectations
  end
end

class EcsSelect
  def initialize(mode) = @mode = mode
  def [](choices) = choices.fetch(@mode) { choices.fetch(:v1) }
  def active_mode = @mode
end

def describe(desc = nil, *meta, &block) = Group.describe(desc, *meta, &block)

module RSpec
  def self.describe(*args, &block) = Group.describe(*args, &block)
  def self.shared_examples_for(name, &block) = $shared[name] = block
  def self.configure = nil
  module Matchers
    def self.define(*) = nil
  end
end

def describe_pattern(name, pattern_modes = [nil], &block)
  pattern_modes.each do |mode|
    Group.describe("#{name}#{mode ? " (#{mode})" : ''}") do
      define_method(:pattern_mode) { mode }
      let(:pattern) { name }
      let(:message) { raise Unsupported, "let(:message) is missing" }
      let(:event) { grok_match_event(pattern, message) }
      let(:grok) { event.to_hash }
      subject(:grok_result) { grok }
      class_exec(&block)
    end
  end
end

# logstash-patterns-core's spec helper: the event uses only these top-level fields.
$shared["top-level namespaces"] = proc do |namespaces, opts = {}|
  it "uses only the namespaces #{namespaces.inspect}" do
    if instance_exec(&(opts[:if] || -> { true }))
      expect(subject).to Matcher.new("only_namespaces", *namespaces)
    end
  end
end

def require(*) = true
def require_relative(*) = true

load ARGV.fetch(0)

out = []
seen = Hash.new(0)
$examples.each do |group, desc, block|
  id = [group.full_description, desc].reject(&:empty?).join(" / ")
  seen[id] += 1
  id = "#{id} ##{seen[id]}" if seen[id] > 1
  example = group.new
  $current = example
  begin
    expectations = example.__run(block)
    out << { "id" => id, "expectations" => JSON.parse(expectations.to_json) }
  rescue Pending
    out << { "id" => id, "pending" => true }
  rescue Unsupported, StandardError => e
    out << { "id" => id, "unsupported" => "#{e.class}: #{e.message}"[0, 200] }
  end
end
puts JSON.pretty_generate(out)
